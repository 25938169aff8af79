"""The README's promises: its first example runs, its Citus calls cover every table."""

from __future__ import annotations

import re
import textwrap
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


async def test_first_example_runs(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DB_POOL_SIZE", "2")
    example = re.search(r"```python\n(from gamedb import Database\n.*?)```", README, re.S)
    assert example is not None
    body = textwrap.indent(example.group(1), "    ")
    namespace: dict[str, Any] = {}
    exec(f"async def example(gid):\n{body}\n    return plays\n", namespace)
    gid = uuid.uuid4()
    plays = await namespace["example"](gid)
    assert [(play.game_id, play.play_number) for play in plays] == [(gid, 1)]


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
