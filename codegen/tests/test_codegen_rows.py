"""Whole table rows as results, and array parameters whose elements may be NULL.

sqlc describes these only when it analyses queries against a database (``database:`` in
sqlc.yaml), which the captured fixtures do not: the two queries below are added to the
``basic`` request the way such a run describes them (a whole row of ``teams`` is a column of
type ``teams``; ``ARRAY(SELECT s FROM samples AS s …)`` one of type ``samples``, an array).
The generated code then runs against PostgreSQL with the fixture's schema.
"""

from __future__ import annotations

import base64
import copy
import datetime
import importlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import pytest

from gamedb_codegen import plugin

SCHEMA = Path(__file__).parent / "fixtures" / "src" / "basic" / "schema"
PAYLOADS = """\
from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    values: list[int]
"""


def _column(name: str, type_name: str, *, not_null: bool, array: bool = False) -> dict[str, Any]:
    return {
        "array_dims": 1 if array else 0,
        "comment": "",
        "embed_table": None,
        "is_array": array,
        "is_func_call": False,
        "is_named_param": False,
        "is_sqlc_slice": False,
        "length": -1,
        "name": name,
        "not_null": not_null,
        "original_name": name,
        "scope": "",
        "table": None,
        "table_alias": "",
        "type": {"catalog": "", "name": type_name, "schema": ""},
        "unsigned": False,
    }


def _query(name: str, cmd: str, text: str, columns: list[Any], params: list[Any]) -> Any:
    return {
        "cmd": cmd,
        "columns": columns,
        "comments": [f" {name} of the rows test."],
        "filename": "rows.sql",
        "insert_into_table": None,
        "name": name,
        "params": [{"column": column, "number": n} for n, column in enumerate(params, 1)],
        "text": text,
    }


def rows_request(basic: dict[str, Any], package: str) -> dict[str, Any]:
    request = copy.deepcopy(basic)
    options = json.loads(base64.b64decode(request["plugin_options"]))
    options["package"] = package
    options["nullability"] = [
        *options.get("nullability", []),
        {"query": "AddTeams", "column": "names", "not_null": False},
        {"query": "GetTeamWithSamples", "column": "samples", "not_null": True},
    ]
    request["plugin_options"] = base64.b64encode(json.dumps(options).encode()).decode()
    request["queries"] += [
        _query(
            "GetTeamWithSamples",
            ":one",
            "SELECT (SELECT t FROM teams AS t WHERE t.id = $1) AS team, "
            "ARRAY(SELECT s FROM samples AS s WHERE s.team_id = $1 ORDER BY s.label) AS samples",
            [
                _column("team", "teams", not_null=False),
                _column("samples", "samples", not_null=False, array=True),
            ],
            [_column("team_id", "int4", not_null=True)],
        ),
        _query(
            "AddTeams",
            ":execrows",
            "INSERT INTO teams (id, name) SELECT * FROM unnest($1::integer[], $2::text[])",
            [],
            [
                _column("ids", "int4", not_null=True, array=True),
                _column("names", "text", not_null=True, array=True),
            ],
        ),
    ]
    return request


def _plugin_options(package: str, nullability: list[dict[str, Any]]) -> str:
    options = {"package": package, "nullability": nullability}
    return base64.b64encode(json.dumps(options).encode()).decode()


@pytest.fixture(scope="module")
def rows_package(
    basic_request: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    package = f"rows_gen_{uuid.uuid4().hex[:10]}"
    root = tmp_path_factory.mktemp("rows")
    files = dict(plugin.generate(rows_request(basic_request, package)))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "payloads.py").write_text(PAYLOADS)
    sys.path.insert(0, str(root))
    try:
        yield package, files
    finally:
        sys.path.remove(str(root))
        for name in list(sys.modules):
            if name.startswith(package) or name == "payloads":
                del sys.modules[name]


def test_whole_rows_become_the_tables_models(rows_package: tuple[str, dict[str, str]]) -> None:
    package, files = rows_package
    rows = files[f"{package}/rows.py"]
    assert "    team: Team | None\n    samples: list[Sample]\n" in rows
    assert "def _team_from_row(row: asyncpg.Record) -> Team:" in rows
    assert "_GAME_STATUS_MEMBERS: Final = {member.value: member for member in GameStatus}" in rows
    assert 'values["status"] = _GAME_STATUS_MEMBERS[values["status"]]' in rows
    assert 'None if values["half"] is None else _HALF_INNING_MEMBERS[values["half"]]' in rows
    assert 'Payload.model_construct(**values["payload"])' in rows
    assert "samples=[_sample_from_row(v) for v in row[1]]" in rows
    executor = files[f"{package}/_executor.py"]
    assert '_ROW_TYPES = ("samples", "teams")' in executor


def test_array_parameters_may_hold_none(rows_package: tuple[str, dict[str, str]]) -> None:
    package, files = rows_package
    assert "*, ids: list[int], names: list[str | None]) -> int:" in files[f"{package}/rows.py"]


def test_nullable_elements_only_for_array_parameters(basic_request: dict[str, Any]) -> None:
    request = rows_request(basic_request, "rows_bad")
    request["plugin_options"] = _plugin_options(
        "rows_bad", [{"query": "GetTeamWithSamples", "column": "team_id", "not_null": False}]
    )
    with pytest.raises(Exception, match="has no result column 'team_id' nor array parameter"):
        plugin.generate(request)
    request["plugin_options"] = _plugin_options(
        "rows_bad", [{"query": "AddTeams", "column": "names", "not_null": True}]
    )
    with pytest.raises(Exception, match="an array parameter takes only 'not_null: false'"):
        plugin.generate(request)


@pytest.fixture
async def conn(
    schema_database: Callable[[Path], AbstractAsyncContextManager[asyncpg.Connection]],
    rows_package: tuple[str, dict[str, str]],
) -> AsyncIterator[asyncpg.Connection]:
    async with schema_database(SCHEMA) as connection:
        await importlib.import_module(rows_package[0]).register_codecs(connection)
        yield connection


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


async def test_whole_rows_read_back_as_the_validated_reads_do(
    conn: asyncpg.Connection, rows_package: tuple[str, dict[str, str]]
) -> None:
    package, _ = rows_package
    models, samples, rows = (_module(package, m) for m in ("models", "samples", "rows"))
    payload = importlib.import_module("payloads").Payload
    assert await rows.add_teams(conn, ids=[1, 2], names=["Cubs", "Sox"]) == 2
    with pytest.raises(asyncpg.NotNullViolationError):
        await rows.add_teams(conn, ids=[3], names=[None])
    created = []
    for label, half, kind in (("b", models.HalfInning.TOP, "k"), ("a", None, None)):
        created.append(
            await samples.create_sample(
                conn,
                id=uuid.uuid4(),
                team_id=1,
                status=models.GameStatus.IN_PROGRESS,
                half=half,
                small_n=None,
                int_n=7,
                big_n=None,
                flag=True,
                ratio=None,
                score=None,
                amount=None,
                label=label,
                code=None,
                initial=None,
                raw=None,
                born=None,
                at_time=None,
                created_at=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
                local_at=None,
                span=None,
                doc={"x": [1, None]},
                meta=None,
                payload=None if kind is None else payload(kind=kind, values=[1, 2]),
                payload_list=None,
                tags=["t"],
                scores=None,
                halves=None,
                ids=None,
                from_=None,
                json=None,
            )
        )
    found = await rows.get_team_with_samples(conn, team_id=1)
    assert found.team == models.Team(id=1, name="Cubs")
    assert found.samples == sorted(created, key=lambda sample: sample.label)
    first = found.samples[1]
    assert isinstance(first.status, models.GameStatus) and isinstance(first.half, models.HalfInning)
    assert isinstance(first.payload, payload) and first.payload == created[0].payload
    empty = await rows.get_team_with_samples(conn, team_id=9)
    assert (empty.team, empty.samples) == (None, [])
