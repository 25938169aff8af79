"""Everything the plugin refuses, with the message it gives."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from gamedb_codegen.errors import GenerateError
from gamedb_codegen.plugin import generate


def only(request: dict[str, Any], *names: str) -> dict[str, Any]:
    result = copy.deepcopy(request)
    result["queries"] = [q for q in result["queries"] if q["name"] in names]
    assert {q["name"] for q in result["queries"]} == set(names)
    return result


def with_options(request: dict[str, Any], options: object) -> dict[str, Any]:
    text = options if isinstance(options, str) else json.dumps(options)
    result = copy.deepcopy(request)
    result["plugin_options"] = base64.b64encode(text.encode()).decode()
    return result


def error_of(request: dict[str, Any]) -> str:
    with pytest.raises(GenerateError) as info:
        generate(request)
    return str(info.value)


def test_supported_query_alone_is_fine(errors_request: dict[str, Any]) -> None:
    files = dict(generate(only(errors_request, "Fine")))
    assert (
        "async def fine(conn: Executor, *, id: int) -> str | None:" in files["errors_gen/errors.py"]
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "LastId",
            "sqlc-gen-gamedb: errors.sql: query LastId: :execlastid: PostgreSQL has no last "
            "insert id; use RETURNING with :one",
        ),
        ("BatchDelete", "sqlc-gen-gamedb: errors.sql: query BatchDelete: :batchexec: batch"),
        ("BatchGet", "sqlc-gen-gamedb: errors.sql: query BatchGet: :batchone: batch"),
        ("BatchList", "sqlc-gen-gamedb: errors.sql: query BatchList: :batchmany: batch"),
    ],
)
def test_rejected_commands(errors_request: dict[str, Any], query: str, expected: str) -> None:
    message = error_of(only(errors_request, query))
    assert message.startswith(expected)
    if query.startswith("Batch"):
        assert ":copyfrom" in message
        assert "= ANY(@ids::T[])" in message


def test_unknown_command(errors_request: dict[str, Any]) -> None:
    request = only(errors_request, "Fine")
    request["queries"][0]["cmd"] = ":weird"
    message = error_of(request)
    assert message.startswith("sqlc-gen-gamedb: errors.sql: query Fine: unsupported command")
    assert ":copyfrom" in message


def test_slice(errors_request: dict[str, Any]) -> None:
    message = error_of(only(errors_request, "BySlice"))
    assert message.startswith("sqlc-gen-gamedb: errors.sql: query BySlice: sqlc.slice(ids)")
    assert "= ANY(@ids::int[])" in message


def test_embed(errors_request: dict[str, Any]) -> None:
    message = error_of(only(errors_request, "Embedded"))
    assert message.startswith("sqlc-gen-gamedb: errors.sql: query Embedded: sqlc.embed(teams)")
    assert "t.*" in message


def test_unknown_type(errors_request: dict[str, Any]) -> None:
    message = error_of(only(errors_request, "Untyped"))
    assert message == (
        "sqlc-gen-gamedb: errors.sql: query Untyped: column 'bottom' has type anyarray which "
        "has no Python mapping; cast it in SQL (e.g. ::int8) or add an override in the plugin "
        "options"
    )


def test_unknown_type_fixed_by_query_override(errors_request: dict[str, Any]) -> None:
    request = with_options(
        only(errors_request, "Untyped"),
        {"overrides": [{"query": "Untyped", "column": "bottom", "py_type": "int"}]},
    )
    text = dict(generate(request))["gamedb_gen/errors.py"]
    assert "    bottom: int\n" in text


def test_one_without_columns(errors_request: dict[str, Any]) -> None:
    request = only(errors_request, "Fine")
    request["queries"][0]["columns"] = []
    assert error_of(request).endswith(":one query returns no columns; use :exec or add RETURNING")


def test_reserved_module_name(errors_request: dict[str, Any]) -> None:
    request = only(errors_request, "Fine")
    request["queries"][0]["filename"] = "models.sql"
    assert "reserved module 'models'" in error_of(request)


def test_colliding_generated_names(errors_request: dict[str, Any]) -> None:
    request = only(errors_request, "Fine")
    twin = copy.deepcopy(request["queries"][0])
    twin["name"] = "fine"
    request["queries"].append(twin)
    assert "query fine: generated name fine collides" in error_of(request)


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("{not json", "invalid plugin options: not JSON"),
        ("[1]", "invalid plugin options: expected a mapping"),
        (
            {"packge": "x"},
            "options: unknown key(s) 'packge'; allowed: nullability, overrides, package",
        ),
        ({"package": "a.b"}, "options.package: expected a single package name"),
        ({"package": "1x"}, "options.package: '1x' is not a dotted Python module name"),
        ({"overrides": {}}, "options.overrides: expected a list"),
        ({"overrides": [1]}, "options.overrides[0]: expected a mapping"),
        (
            {"overrides": [{"column": "teams.name", "py_type": "x:Y", "typo": 1}]},
            "options.overrides[0]: unknown key(s) 'typo'",
        ),
        ({"overrides": [{"column": "teams.name"}]}, "set exactly one of 'py_type' and 'db_type'"),
        (
            {"overrides": [{"column": "teams.name", "py_type": "x:Y", "db_type": "text"}]},
            "set exactly one of 'py_type' and 'db_type'",
        ),
        (
            {"overrides": [{"column": "name", "py_type": "x:Y"}]},
            "options.overrides[0].column: expected 'table.column'",
        ),
        (
            {"overrides": [{"column": "teams.name", "py_type": "Decimal"}]},
            "options.overrides[0].py_type: expected 'module:Name' or one of",
        ),
        (
            {"overrides": [{"column": "teams.name", "py_type": "x:1Y"}]},
            "options.overrides[0].py_type: '1Y' is not a Python name",
        ),
        (
            {"overrides": [{"column": "teams.nope", "py_type": "x:Y"}]},
            "options.overrides[0]: no column teams.nope in the schema",
        ),
        (
            {"overrides": [{"column": "teams.name", "db_type": "money"}]},
            "options.overrides[0]: unknown db_type money",
        ),
        (
            {"overrides": [{"query": "Nope", "column": "name", "py_type": "int"}]},
            "options.overrides[0]: no query Nope",
        ),
        (
            {"nullability": [{"query": "Fine", "column": "nope", "not_null": True}]},
            "options.nullability[0]: query Fine has no result column 'nope'",
        ),
        (
            {"nullability": [{"query": "Fine", "column": "name", "not_null": "yes"}]},
            "options.nullability[0].not_null: expected true or false",
        ),
        (
            {"nullability": [{"query": "Fine", "not_null": True}]},
            "options.nullability[0]: missing 'column'",
        ),
    ],
)
def test_bad_options(errors_request: dict[str, Any], options: object, expected: str) -> None:
    message = error_of(with_options(only(errors_request, "Fine"), options))
    assert message.startswith("sqlc-gen-gamedb: ")
    assert "invalid plugin options" in message
    assert expected in message


def test_db_type_override_on_a_table_column(errors_request: dict[str, Any]) -> None:
    request = with_options(
        only(errors_request, "Fine"),
        {"overrides": [{"column": "teams.name", "db_type": "varchar[]"}]},
    )
    files = dict(generate(request))
    assert "    name: list[str]\n" in files["gamedb_gen/models.py"]
    assert "-> list[str] | None:" in files["gamedb_gen/errors.py"]
