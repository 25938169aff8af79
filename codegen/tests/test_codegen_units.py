"""Name conversion, type mapping, SQL constants and docstrings."""

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
from gamedb_codegen.plan import QueryPlan, module_name, singular_name
from gamedb_codegen.render import docstring, sql_constant
from gamedb_codegen.request import Query
from gamedb_codegen.types import (
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
    assert mapper.scalar("timestamptz").imports == frozenset({Import("datetime")})
    assert mapper.scalar("jsonb").imports == frozenset({Import("pydantic", "JsonValue")})
    league = mapper.scalar("league")
    assert league.kind == "enum"
    assert league.imports == frozenset({Import(".models", "League")})


@pytest.mark.parametrize("pg", ["anyarray", "any", "inet", "money", ""])
def test_unknown_types(pg: str) -> None:
    with pytest.raises(UnknownTypeError):
        TypeMapper({}).scalar(pg)


def test_normalise_type_name() -> None:
    assert normalise_type_name("pg_catalog.int4") == ("int4", 0)
    assert normalise_type_name("Character  Varying(20)[]") == ("character varying", 1)


def constant(text: str, name: str = "GetThing", cmd: str = ":one") -> str:
    """The SQL constant generated for a query ``name`` of this text."""
    query = Query(name, cmd, text, "things.sql", (), (), (), None)
    return sql_constant(QueryPlan(query=query, function="", constant="THING", params=()))


def test_sql_constant_starts_with_the_name_line_and_keeps_the_text() -> None:
    text = "SELECT a,\n       b -- why\nFROM t\nWHERE a = $1"
    assert constant(text, "ListThings", ":many") == (
        f'THING: Final = """-- name: ListThings :many\n{text}\n"""'
    )


def test_sql_constant_holds_the_text_as_python_reads_it() -> None:
    text = "SELECT E'\\n', '\"\"\"', 'ends with a quote\""
    namespace: dict[str, object] = {}
    exec("from typing import Final\n" + constant(text), namespace)
    assert namespace["THING"] == f"-- name: GetThing :one\n{text}\n"


def test_sql_constant_breaks_only_long_plain_column_lists() -> None:
    columns = ", ".join(f"column_number_{i}" for i in range(12))
    lines = constant(f"SELECT {columns} FROM t WHERE id = $1").split("\n")[1:-1]
    assert all(len(line) <= 100 for line in lines)
    assert lines[1].startswith("    column_number_")
    assert " ".join(line.strip() for line in lines) == f"SELECT {columns} FROM t WHERE id = $1"
    quoted = f"SELECT {columns}, 'a, b' FROM t"
    commented = f"SELECT {columns} FROM t -- a, b"
    dollar = f"SELECT {columns}, $$a, b$$ FROM t"
    for text in (quoted, commented, dollar):
        assert constant(text).split("\n")[1] == text


def test_docstring() -> None:
    assert docstring("    ", [" Get a game."]) == ['    """Get a game."""']
    assert docstring("    ", [" one", "", " two", ""]) == ['    """one', "", "    two", '    """']
    assert docstring("    ", ["", " "]) == []
    long = docstring("    ", ["word " * 40])
    assert all(len(line) <= 100 for line in long)
    assert docstring("", ['ends with "quote"']) == ['"""ends with "quote" """']
