"""The calls gamedb sends to a Citus coordinator in place of the statements it delegates to a
game's node (gamedb.delegation), as the schema defines them; installing and routing them runs
on the cluster (tests/integration/test_citus.py)."""

from __future__ import annotations

import re

import asyncpg

from gamedb import delegation
from gamedb_gen import citus, plays


async def test_each_statement_is_called_by_a_function_named_after_its_query(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        calls = await delegation.delegated_calls(conn)
    finally:
        await conn.close()
    assert list(calls) == list(delegation.DELEGATED)
    parameters = ", ".join(f"${n}" for n in range(1, 35))
    assert re.fullmatch(
        rf"SELECT \* FROM gamedb_save_play_[0-9a-f]{{10}}\({re.escape(parameters)}\)",
        calls[plays.SAVE_PLAY],
    )
    functions = [call.split("(")[0] for call in calls.values()]
    assert len(set(functions)) == len(functions)


async def test_a_changed_statement_is_called_by_another_function(database_url: str) -> None:
    changed = plays.SAVE_PLAY.replace("RETURNING id", "RETURNING id ")
    conn = await asyncpg.connect(database_url)
    try:
        before = await citus.delegated_call(conn, statement=plays.SAVE_PLAY)
        after = await citus.delegated_call(conn, statement=changed)
    finally:
        await conn.close()
    assert before is not None and after is not None
    assert before.split("(")[0] != after.split("(")[0]
