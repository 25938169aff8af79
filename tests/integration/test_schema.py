"""The schema: reversible migrations, game_id-first keys, and the CHECKs the data model names."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from gamedb.migrate import migrate, migration_status, migrations_dir, rollback

TABLES = {"games", "lineups", "plays", "roster_links", "rolls", "game_sessions"}


async def catalog_rows(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def test_migration_files_are_named_and_paired() -> None:
    files = sorted(migrations_dir().glob("*.sql"))
    assert files, "no migrations found"
    for path in files:
        assert re.fullmatch(r"\d{14}_[a-z]+(_[a-z0-9]+)+\.sql", path.name), path.name
        text = path.read_text()
        assert text.count("-- migrate:up") == 1 and text.count("-- migrate:down") == 1, path.name
        assert text.index("-- migrate:up") < text.index("-- migrate:down"), path.name


async def test_up_down_up(database_url: str) -> None:
    applied = (await migration_status(database_url)).applied
    assert len(applied) == len(list(migrations_dir().glob("*.sql")))
    await rollback(database_url, steps=len(applied))
    status = await migration_status(database_url)
    assert status.applied == () and len(status.pending) == len(applied)
    tables = await catalog_rows(
        database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    assert {row["tablename"] for row in tables} <= {"schema_migrations"}
    types = await catalog_rows(database_url, "SELECT typname FROM pg_type WHERE typtype = 'e'")
    assert not types, "down sections drop the enums too"
    await migrate(database_url)
    assert (await migration_status(database_url)).applied == applied


async def test_every_key_starts_with_game_id(database_url: str) -> None:
    rows = await catalog_rows(
        database_url,
        """
        SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype::text AS contype,
               (SELECT array_agg(a.attname ORDER BY k.ord)
                FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns
        FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype IN ('p', 'u')
            AND c.conrelid::regclass::text <> 'schema_migrations'
        """,
    )
    seen = {row["table_name"] for row in rows if row["contype"] == "p"}
    assert seen == TABLES
    for row in rows:
        key = "id" if row["table_name"] == "games" else "game_id"
        assert row["columns"][0] == key, f"{row['conname']} starts with {row['columns'][0]}"


async def test_every_foreign_key_is_co_located(database_url: str) -> None:
    rows = await catalog_rows(
        database_url,
        """
        SELECT c.conname, c.conrelid::regclass::text AS table_name,
               c.confrelid::regclass::text AS referenced,
               (SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]) AS first_column,
               (SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = c.confrelid AND a.attnum = c.confkey[1]) AS referenced_first
        FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype = 'f'
        """,
    )
    assert {row["table_name"] for row in rows} == TABLES - {"games"}
    for row in rows:
        expected = "id" if row["referenced"] == "games" else "game_id"
        assert (row["first_column"], row["referenced_first"]) == ("game_id", expected), row[
            "conname"
        ]
    cascading = await catalog_rows(
        database_url,
        """
        SELECT conrelid::regclass::text AS table_name FROM pg_constraint
        WHERE contype = 'f' AND confrelid = 'games'::regclass AND confdeltype = 'c'
        """,
    )
    assert {row["table_name"] for row in cascading} == TABLES - {"games"}


async def test_deleting_a_game_cascades(database_url: str) -> None:
    from gamedb import Database
    from tests.factories import play_dict, set_up_game

    async with await Database.connect(database_url, db_pool_size=1) as db:
        game = await set_up_game(db)
        await db.save_play(play_dict(game, 1))
        await db.add_sba_roster_player(game_id=game.game_id, player_id=5, team_id=1)
        await db.create_game_session(game.game_id)
        await db.save_rolls_batch(
            [{"game_id": game.game_id, "roll_id": "r", "roll_type": "ab", "roll_data": {}}]
        )
        assert await db.delete_game(game.game_id)
        for table in TABLES:
            rows = await catalog_rows(database_url, f"SELECT count(*) AS n FROM {table}")
            assert rows[0]["n"] == 0, table


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE games SET home_score = -1", "games_home_score_nonnegative"),
        ("UPDATE games SET current_inning = 0", "games_inning_positive"),
        ("UPDATE games SET away_team_id = home_team_id", "games_teams_differ"),
        ("UPDATE lineups SET batting_order = 10", "lineups_batting_order_range"),
        ("UPDATE lineups SET position = 'XX'", "lineups_position_known"),
    ],
)
async def test_checks_hold_against_raw_sql(database_url: str, sql: str, constraint: str) -> None:
    from gamedb import Database
    from tests.factories import set_up_game

    async with await Database.connect(database_url, db_pool_size=1) as db:
        await set_up_game(db)
        async with db.pool.acquire() as conn:
            with pytest.raises(asyncpg.CheckViolationError) as caught:
                await conn.execute(sql)
    assert caught.value.constraint_name == constraint


def test_migrations_dir_is_the_schema_folder() -> None:
    assert migrations_dir().resolve() == (Path(__file__).parents[2] / "schema").resolve()
