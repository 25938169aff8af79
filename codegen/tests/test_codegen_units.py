"""Name conversion, type mapping, SQL wrapping and import ordering."""

from __future__ import annotations

import pytest

from gamedb_codegen.naming import (
    dedupe,
    enum_member_name,
    pascal_case,
    safe_identifier,
    singular,
    snake_case,
    upper_snake,
)
from gamedb_codegen.plan import module_name, singular_name
from gamedb_codegen.render import docstring, render_imports, sql_lines
from gamedb_codegen.types import (
    FIRST_PARTY,
    LOCAL,
    STDLIB,
    THIRD_PARTY,
    Import,
    TypeMapper,
    UnknownTypeError,
    normalise_type_name,
)


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("GetBatterStats", "get_batter_stats"),
        ("GetHTTPStatus", "get_http_status"),
        ("Save2Plays", "save2_plays"),
        ("home_team-id", "home_team_id"),
        ("already_snake", "already_snake"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake
    assert upper_snake(name) == snake.upper()


def test_pascal_case() -> None:
    assert pascal_case("game_mode") == "GameMode"
    assert pascal_case("GetGame") == "GetGame"
    assert pascal_case("league") == "League"


@pytest.mark.parametrize(
    ("table", "model"),
    [
        ("games", "Game"),
        ("plays", "Play"),
        ("roster_links", "RosterLink"),
        ("game_sessions", "GameSession"),
        ("rolls", "Roll"),
        ("lineups", "Lineup"),
        ("categories", "Category"),
        ("addresses", "Address"),
        ("status", "Status"),
        ("box", "Box"),
    ],
)
def test_table_model_names(table: str, model: str) -> None:
    assert pascal_case(singular_name(table)) == model


def test_singular_edge_cases() -> None:
    assert singular("series") == "sery"  # simple rules, not a dictionary
    assert singular("s") == "s"
    assert singular("class") == "class"


def test_safe_identifier() -> None:
    assert safe_identifier("from", "x") == "from_"
    assert safe_identifier("match", "x") == "match_"  # soft keyword
    assert safe_identifier("id", "x") == "id"
    assert safe_identifier("?column?", "column_1") == "column"
    assert safe_identifier("1st", "column_1") == "column_1_1st"
    assert safe_identifier("", "param_3") == "param_3"


def test_enum_member_names() -> None:
    assert enum_member_name("in-progress") == "IN_PROGRESS"
    assert enum_member_name("sba") == "SBA"
    assert enum_member_name("1b") == "V_1B"
    assert enum_member_name("") == "EMPTY"
    assert dedupe(["A", "A", "B", "A"]) == ["A", "A_2", "B", "A_3"]
    assert dedupe(["x"], taken={"x"}) == ["x_2"]


def test_module_names() -> None:
    assert module_name("games.sql") == "games"
    assert module_name("queries/batch-ops.sql") == "batch_ops"
    assert module_name("2024.sql") == "q_2024"


@pytest.mark.parametrize(
    ("pg", "python", "dims"),
    [
        ("int2", "int", 0),
        ("smallint", "int", 0),
        ("pg_catalog.int4", "int", 0),
        ("integer", "int", 0),
        ("int", "int", 0),
        ("serial", "int", 0),
        ("int8", "int", 0),
        ("bigint", "int", 0),
        ("bigserial", "int", 0),
        ("bool", "bool", 0),
        ("boolean", "bool", 0),
        ("float4", "float", 0),
        ("real", "float", 0),
        ("float8", "float", 0),
        ("double precision", "float", 0),
        ("numeric", "decimal.Decimal", 0),
        ("pg_catalog.numeric(12,3)", "decimal.Decimal", 0),
        ("decimal", "decimal.Decimal", 0),
        ("text", "str", 0),
        ("varchar", "str", 0),
        ("character varying(20)", "str", 0),
        ("bpchar", "str", 0),
        ("char", "str", 0),
        ("citext", "str", 0),
        ("name", "str", 0),
        ("uuid", "uuid.UUID", 0),
        ("timestamptz", "datetime.datetime", 0),
        ("timestamp with time zone", "datetime.datetime", 0),
        ("pg_catalog.timestamp", "datetime.datetime", 0),
        ("timestamp without time zone", "datetime.datetime", 0),
        ("date", "datetime.date", 0),
        ("time", "datetime.time", 0),
        ("interval", "datetime.timedelta", 0),
        ("bytea", "bytes", 0),
        ("json", "JsonValue", 0),
        ("jsonb", "JsonValue", 0),
        ("text[]", "str", 1),
        ("int4[][]", "int", 2),
        ("_uuid", "uuid.UUID", 1),
        ("league", "League", 0),
        ("public.league", "League", 0),
        ("_league", "League", 1),
        ("league[]", "League", 1),
    ],
)
def test_type_mapping(pg: str, python: str, dims: int) -> None:
    resolved = TypeMapper({"league": "League"}).scalar(pg)
    assert resolved.element == python
    assert resolved.array_dims == dims


def test_type_annotations_and_imports() -> None:
    mapper = TypeMapper({"league": "League"})
    assert mapper.scalar("uuid[]").with_nullable(True).annotation == "list[uuid.UUID] | None"
    assert mapper.scalar("timestamptz").imports == frozenset({Import(STDLIB, "datetime")})
    assert mapper.scalar("jsonb").imports == frozenset(
        {Import(THIRD_PARTY, "pydantic", "JsonValue")}
    )
    league = mapper.scalar("league")
    assert league.kind == "enum"
    assert league.imports == frozenset({Import(LOCAL, ".models", "League")})


@pytest.mark.parametrize("pg", ["anyarray", "any", "inet", "money", ""])
def test_unknown_types(pg: str) -> None:
    with pytest.raises(UnknownTypeError):
        TypeMapper({}).scalar(pg)


def test_normalise_type_name() -> None:
    assert normalise_type_name("pg_catalog.int4") == ("int4", 0)
    assert normalise_type_name("Character  Varying(20)[]") == ("character varying", 1)


def test_import_order() -> None:
    lines = render_imports(
        [
            Import(LOCAL, ".models", "Team"),
            Import(LOCAL, "._executor", "rows_affected"),
            Import(LOCAL, "._executor", "Executor"),
            Import(THIRD_PARTY, "pydantic", "JsonValue"),
            Import(THIRD_PARTY, "pydantic", "BaseModel"),
            Import(STDLIB, "typing", "Final"),
            Import(STDLIB, "uuid"),
            Import(STDLIB, "collections.abc", "Iterable"),
            Import(STDLIB, "datetime"),
            Import(FIRST_PARTY, "gamedb.payloads", "RollData"),
        ]
    )
    assert lines == [
        "import datetime",
        "import uuid",
        "from collections.abc import Iterable",
        "from typing import Final",
        "",
        "from pydantic import BaseModel, JsonValue",
        "",
        "from gamedb.payloads import RollData",
        "",
        "from ._executor import Executor, rows_affected",
        "from .models import Team",
    ]


def test_long_import_is_wrapped() -> None:
    names = [f"VeryLongModelName{i}" for i in range(8)]
    lines = render_imports([Import(LOCAL, ".models", n) for n in names])
    assert lines[0] == "from .models import ("
    assert lines[1] == "    VeryLongModelName0,"
    assert lines[-1] == ")"


def test_sql_wrapping_keeps_tokens_and_literals() -> None:
    columns = ", ".join(f"column_number_{i}" for i in range(12))
    text = f"SELECT {columns}, 'a long literal with spaces that must stay on one line' FROM t"
    lines = sql_lines(text)
    assert all(len(line) <= 100 for line in lines)
    assert " ".join(line.strip() for line in lines) == text
    assert any("'a long literal with spaces that must stay on one line'" in ln for ln in lines)


def test_sql_wrapping_respects_comments_and_dollar_quotes() -> None:
    long_comment = "-- " + "word " * 30
    lines = sql_lines(f"SELECT 1 {long_comment}")
    assert lines == ["SELECT 1", f"    {long_comment}".rstrip()]  # a comment is never split
    body = "$$ " + "x " * 60 + "$$"
    lines = sql_lines(f"SELECT {body}")
    assert lines == ["SELECT", f"    {body}"]  # a dollar-quoted string is never split


def test_sql_escaping() -> None:
    assert sql_lines("SELECT E'\\n', '\"\"\"'") == ["SELECT E'\\\\n', '\"\"\\\"'"]


def test_docstring() -> None:
    assert docstring("    ", [" Get a game."]) == ['    """Get a game."""']
    assert docstring("    ", [" one", "", " two", ""]) == ['    """one', "", "    two", '    """']
    assert docstring("    ", ["", " "]) == []
    long = docstring("    ", ["word " * 40])
    assert all(len(line) <= 100 for line in long)
    assert docstring("", ['ends with "quote"']) == ['"""ends with "quote" """']
