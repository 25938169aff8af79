"""The README's promises on a database: every Python block runs as written (in order, as in
``python -m asyncio``), its pytest example runs under the installed plugin, and its Citus
calls cover every table."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gamedb_schema.embedded import data_dir

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
EXAMPLES = [block for block in PYTHON_BLOCKS if "def test_" not in block]
(PYTEST_EXAMPLE,) = [block for block in PYTHON_BLOCKS if "def test_" in block]


async def test_every_example_runs_in_order(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DB_POOL_SIZE", "2")
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    for block in EXAMPLES:
        code = compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # top-level await makes a coroutine, as the REPL runs it
        if result is not None:
            await result
    gid = namespace["gid"]
    assert [(play.game_id, play.play_number) for play in namespace["plays"]] == [(gid, 1)]

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            "SELECT play_number FROM plays WHERE game_id = $1 ORDER BY play_number", gid
        )
        pitchers = await conn.fetch(
            "SELECT player_id, is_active FROM lineups WHERE game_id = $1 AND position = 'P'"
            " ORDER BY id",
            gid,
        )
        rolls = await conn.fetchval("SELECT count(*) FROM rolls WHERE game_id = $1", gid)
        outs = await conn.fetchval("SELECT outs FROM games WHERE id = $1", gid)
    finally:
        await conn.close()
    assert [row["play_number"] for row in stored] == [1, 2, 3]
    assert [(row["player_id"], row["is_active"]) for row in pitchers] == [
        (201, False),
        (230, False),
        (231, True),
    ]
    assert rolls == 1
    assert outs == 1


def test_the_pytest_example_runs_under_the_installed_plugin(
    tmp_path: Path, gamedb_server_url: str
) -> None:
    (tmp_path / "test_engine.py").write_text(PYTEST_EXAMPLE)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("DATABASE_URL")
    }
    environment["GAMEDB_DATA_DIR"] = str(data_dir())  # the embedded server this run uses
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_engine.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


async def test_distribution_calls_cover_every_table(database_url: str) -> None:
    calls = dict(re.findall(r"create_distributed_table\('(\w+)', '(\w+)'", README))
    conn = await asyncpg.connect(database_url)
    try:
        tables = {
            row["tablename"]
            for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations'"
            )
        }
    finally:
        await conn.close()
    assert set(calls) == tables
    assert all(
        column == ("id" if table == "games" else "game_id") for table, column in calls.items()
    )
    colocated = set(
        re.findall(
            r"create_distributed_table\('(\w+)', 'game_id', colocate_with => 'games'\)", README
        )
    )
    assert colocated == tables - {"games"}
