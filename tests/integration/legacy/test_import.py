"""``gamedb import-legacy`` against a database of the old layer's tables holding 50 games
written the way the old layer wrote them, some of them dirty in each way gamedb refuses."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner

from gamedb import Database
from gamedb.cli import cli
from gamedb.legacy import POSITIONS, ImportInterrupted, LegacySchemaError, import_legacy
from gamedb_schema.urls import with_database
from tests.integration.legacy.oldlayer import (
    DIRTY,
    OLD_SCHEMA,
    OldGames,
    assert_round_trip,
    fill_old_tables,
)


async def _on_server(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _new_database(admin_url: str) -> tuple[str, str]:
    """An empty database of the test's own, for the old layer's tables: its name and URL."""
    name = f"gamedb_old_layer_{uuid.uuid4().hex[:10]}"
    await _on_server(admin_url, f'CREATE DATABASE "{name}"')
    return name, with_database(admin_url, name)


async def _drop_database(admin_url: str, name: str) -> None:
    await _on_server(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


CLEAN = 50 - len(DIRTY)


@pytest.fixture(scope="module")
async def old_layer(pg_admin_url: str) -> AsyncIterator[tuple[str, OldGames]]:
    """The old layer's database: its URL and which games are clean or dirty."""
    name, url = await _new_database(pg_admin_url)
    try:
        games = await fill_old_tables(url)
        yield url, games
    finally:
        await _drop_database(pg_admin_url, name)


@pytest.fixture
async def source(old_layer: tuple[str, OldGames]) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(old_layer[0])
    yield conn
    await conn.close()


async def _fingerprint(conn: asyncpg.Connection) -> list[Any]:
    """Everything the old tables hold, to prove the import never writes there."""
    return [
        await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions")
    ]


async def test_clean_games_round_trip_and_dirty_ones_are_skipped(
    db: Database, old_layer: tuple[str, OldGames], source: asyncpg.Connection
) -> None:
    url, games = old_layer
    assert len(games.clean) + len(games.dirty) == 50
    before = await _fingerprint(source)
    progress: list[tuple[int, int]] = []

    report = await import_legacy(db, url, on_progress=lambda *done: progress.append(done))

    assert progress == [(n, 50) for n in range(1, 51)]
    assert (report.imported, report.present, report.skipped) == (CLEAN, 0, len(DIRTY))
    for gid in games.clean:
        await assert_round_trip(db, source, gid)
    reasons = {game.game_id: game.reason for game in report.games if game.outcome == "skipped"}
    assert set(reasons) == set(games.dirty)
    for gid, kind in games.dirty.items():
        assert DIRTY[kind] in (reasons[gid] or ""), (kind, reasons[gid])
        assert await db.get_game(gid) is None  # never half-imported
    counts = await source.fetchrow(
        "SELECT (SELECT count(*) FROM lineups WHERE game_id = ANY($1)) AS lineups,"
        " (SELECT count(*) FROM plays WHERE game_id = ANY($1)) AS plays,"
        " (SELECT count(*) FROM rolls WHERE game_id = ANY($1)) AS rolls",
        games.clean,
    )
    assert counts is not None
    assert report.rows["games"] == CLEAN
    assert report.rows["game_sessions"] == CLEAN
    assert (report.rows["lineups"], report.rows["plays"], report.rows["rolls"]) == tuple(counts)
    assert await _fingerprint(source) == before  # the source is never written

    again = await import_legacy(db, url)
    assert (again.imported, again.present, again.skipped) == (0, CLEAN, len(DIRTY))
    assert sum(again.rows.values()) == 0
    for gid in games.clean[:5]:
        await assert_round_trip(db, source, gid)


async def test_dry_run_writes_nothing(
    db: Database, old_layer: tuple[str, OldGames], pg_admin_url: str
) -> None:
    url, games = old_layer
    report = await import_legacy(db, url, dry_run=True)
    assert (report.imported, report.skipped) == (CLEAN, len(DIRTY))
    assert report.rows["games"] == CLEAN
    assert await db.get_game(games.clean[0]) is None
    assert "would import" in report.table()


async def test_chosen_games_only(db: Database, old_layer: tuple[str, OldGames]) -> None:
    url, games = old_layer
    dirty = next(iter(games.dirty))
    unknown = uuid.uuid4()
    report = await import_legacy(db, url, game_ids=[games.clean[3], dirty, unknown])
    assert [game.outcome for game in report.games] == ["imported", "skipped", "skipped"]
    assert report.games[2].reason == "not in the old layer's tables"
    assert await db.get_game(games.clean[3]) is not None
    assert await db.get_game(games.clean[4]) is None


async def test_killed_gamedb_connections_leave_no_partial_game(
    db: Database, old_layer: tuple[str, OldGames], source: asyncpg.Connection, database_url: str
) -> None:
    """Backends writing the import are killed again and again, mid-transaction: each game
    is whole or absent, and the runs that follow import the rest exactly once."""
    url, games = old_layer
    admin = await asyncpg.connect(database_url)
    killed = 0
    stop = asyncio.Event()

    async def killer() -> None:
        nonlocal killed
        while not stop.is_set() and killed < 12:
            killed += await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = 'gamedb' AND xact_start IS NOT NULL"
            )
            await asyncio.sleep(0.01)

    task = asyncio.create_task(killer())
    try:
        first = await import_legacy(db, url)
        imported_first = first.imported
    except ImportInterrupted as stopped:
        imported_first = stopped.report.imported
    finally:
        stop.set()
        await task
        await admin.close()
    assert killed > 0
    present = [gid for gid in games.clean if await db.get_game(gid) is not None]
    assert len(present) == imported_first
    for gid in present:
        await assert_round_trip(db, source, gid)

    rest = await import_legacy(db, url)
    assert (rest.imported, rest.present) == (CLEAN - imported_first, imported_first)
    for gid in games.clean:
        await assert_round_trip(db, source, gid)
    assert (await import_legacy(db, url)).imported == 0


async def test_a_killed_source_stops_the_run_and_a_rerun_resumes(
    db: Database, old_layer: tuple[str, OldGames], source: asyncpg.Connection
) -> None:
    url, games = old_layer
    halfway = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done == 20:
            halfway.set()

    async def kill_source() -> None:
        await halfway.wait()
        await source.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'gamedb import-legacy'"
        )

    task = asyncio.create_task(kill_source())
    with pytest.raises(ImportInterrupted, match="run it again to resume") as stopped:
        await import_legacy(db, url, on_progress=progress)
    await task
    done = stopped.value.report
    assert 20 <= len(done.games) < 50
    present = [gid for gid in games.clean if await db.get_game(gid) is not None]
    assert len(present) == done.imported
    for gid in present:
        await assert_round_trip(db, source, gid)

    rest = await import_legacy(db, url)
    assert (rest.imported, rest.present) == (CLEAN - done.imported, done.imported)
    for gid in games.clean:
        await assert_round_trip(db, source, gid)


async def test_missing_optional_columns_and_tables(db: Database, pg_admin_url: str) -> None:
    name, url = await _new_database(pg_admin_url)
    try:
        games = await fill_old_tables(url, games=3, with_dirty=False)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "ALTER TABLE games DROP COLUMN visibility, DROP COLUMN game_mode;"
                "ALTER TABLE plays DROP COLUMN outcome, DROP COLUMN sb;"
                "DROP TABLE game_sessions; DROP TABLE rolls"
            )
        finally:
            await conn.close()
        report = await import_legacy(db, url)
        assert report.imported == 3
        assert report.rows["rolls"] == report.rows["game_sessions"] == 0
        snapshot = await db.load_game_state(games.clean[0])
        assert snapshot is not None
        assert (snapshot.game.visibility, snapshot.game.game_mode) == ("public", "friendly")
        assert snapshot.session is None
        assert {play.outcome for play in snapshot.plays} == {None}

        conn = await asyncpg.connect(url)
        try:
            await conn.execute("ALTER TABLE lineups DROP COLUMN position")
        finally:
            await conn.close()
        with pytest.raises(LegacySchemaError, match="'lineups' has no column 'position'"):
            await import_legacy(db, url)
    finally:
        await _drop_database(pg_admin_url, name)


async def test_positions_are_the_schemas(db: Database) -> None:
    async with db.transaction() as tx:
        row = await tx.connection.fetchrow(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = 'lineups_position_known'"
        )
    assert row is not None
    check = row[0]
    assert sorted(POSITIONS) == sorted(part.split("'")[1] for part in check.split("::text")[:-1])


def test_old_schema_is_the_documented_one() -> None:
    text = OLD_SCHEMA.read_text()
    for table in ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions"):
        assert f"CREATE TABLE {table} (" in text


# ---- the command -------------------------------------------------------------------------


@pytest.fixture
async def target_url(database_url: str) -> str:
    return database_url


def test_command_table_json_and_exit_status(
    target_url: str, old_layer: tuple[str, OldGames]
) -> None:
    url, games = old_layer
    runner = CliRunner()
    env = {"DATABASE_URL": target_url}
    clean, dirty = games.clean[0], next(iter(games.dirty))

    dry = runner.invoke(cli, ["import-legacy", url, "--game", str(clean), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "games would import" in dry.stdout

    done = runner.invoke(cli, ["import-legacy", url, "--game", str(clean)], env=env)
    assert done.exit_code == 0, done.output
    assert "Importing games" in done.stderr
    lines = dict(
        line.rsplit(None, 1) for line in done.stdout.splitlines() if line.strip() and "  " in line
    )
    assert lines["games imported"] == "1"

    # The server trusts the test's connections: a password in the URL is there to be hidden.
    parts = urllib.parse.urlsplit(url)
    user_host = parts.netloc.split("@")
    with_password = parts._replace(
        netloc=f"{user_host[0].split(':')[0]}:Sentinel-7q@{user_host[1]}"
    )
    both = ["--game", str(clean), "--game", str(dirty)]
    scripted = runner.invoke(
        cli, ["import-legacy", with_password.geturl(), *both, "--json"], env=env
    )
    assert scripted.exit_code == 1  # a game was skipped
    assert scripted.stderr == ""
    report = json.loads(scripted.stdout)
    assert (report["imported"], report["present"], report["skipped"]) == (0, 1, 1)
    assert DIRTY[games.dirty[dirty]] in report["games"][1]["reason"]
    assert "Sentinel-7q" not in scripted.output
    assert report["source"].startswith("postgresql://postgres:***@")

    listed = runner.invoke(cli, ["--help"], env=env)
    assert "\n  import-legacy " in listed.stdout
    usage = runner.invoke(cli, ["import-legacy", "--help"], env=env)
    assert usage.exit_code == 0
    assert usage.stdout.startswith("Usage: gamedb import-legacy [OPTIONS] SOURCE_URL")
    for option in ("--game", "--dry-run", "--json"):
        assert option in usage.stdout

    bad = runner.invoke(cli, ["import-legacy", "mysql://x/y"], env=env)
    assert bad.exit_code == 1
    assert "postgresql://" in bad.stderr
