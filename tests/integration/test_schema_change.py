"""A migration applied while writers run: no write fails, every acknowledged write is stored
once, and the pool's connections are refreshed afterwards (``expire_connections``).

Adding a column leaves gamedb's statements valid (sqlc expands ``*`` into the columns it
knew), but every cached prepared statement on the tables is replanned; changing a column's
type also changes the result type of cached statements, which PostgreSQL refuses ("cached
plan must not change result type", asyncpg's ``InvalidCachedStatementError``). asyncpg
re-prepares on its own outside a transaction; inside one, gamedb retries the transaction.
The migration's ALTERs and the writers also deadlock now and then: a writer that loses is
retried by gamedb, a migration that loses by ``gamedb.migrate.migrate``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from gamedb import Database, GameState, Half, Transaction
from gamedb.migrate import migrate, migration_status, migrations_dir
from gamedb.retry import RetryPolicy
from tests.factories import SetUpGame, play_dict, set_up_game

WRITERS = 8
SETTLE = 0.4  # seconds of writing before the migration and again after it

ADD_COLUMNS = """\
-- migrate:up
ALTER TABLE plays ADD COLUMN umpire_note text;
ALTER TABLE games ADD COLUMN weather text NOT NULL DEFAULT 'clear';

-- migrate:down
ALTER TABLE games DROP COLUMN weather;
ALTER TABLE plays DROP COLUMN umpire_note;
"""

CHANGE_RESULT_TYPE = """\
-- migrate:up
ALTER TABLE plays ALTER COLUMN outcome TYPE varchar(10000);
ALTER TABLE games ALTER COLUMN away_team_id TYPE bigint;

-- migrate:down
ALTER TABLE games ALTER COLUMN away_team_id TYPE integer;
ALTER TABLE plays ALTER COLUMN outcome TYPE text;
"""


@dataclasses.dataclass
class Load:
    """What the writers did, and when."""

    writes: int = 0
    writes_during_migration: int = 0
    migrating: bool = False
    failures: list[BaseException] = dataclasses.field(default_factory=list)
    acknowledged: dict[uuid.UUID, list[int]] = dataclasses.field(default_factory=dict)

    def wrote(self) -> None:
        self.writes += 1
        if self.migrating:
            self.writes_during_migration += 1


def retries(records: list[logging.LogRecord]) -> list[tuple[str, str, logging.LogRecord]]:
    """gamedb's retries, from its log: what was retried, and the driver's error class."""
    return [
        (str(record.args[0]), str(record.args[3]), record)
        for record in records
        if record.msg.startswith("retrying") and isinstance(record.args, tuple)
    ]


def migration_retries(records: list[logging.LogRecord]) -> list[tuple[str, logging.LogRecord]]:
    """The retries of ``dbmate up``: the error class dbmate's SQLSTATE is, and the record."""
    return [(error, r) for what, error, r in retries(records) if what.startswith("dbmate up")]


def retries_by_error(records: list[logging.LogRecord]) -> dict[str, int]:
    """gamedb's retries counted by the error that caused them, ``dbmate up``'s apart."""
    counts: dict[str, int] = {}
    for what, error, _ in retries(records):
        kind = f"dbmate up ({error})" if what.startswith("dbmate up") else error
        counts[kind] = counts.get(kind, 0) + 1
    return counts


async def write_game(db: Database, game: SetUpGame, load: Load, stop: asyncio.Event) -> None:
    """The engine's calls for one game, round after round, until told to stop."""
    gid = game.game_id
    numbers = load.acknowledged.setdefault(gid, [])

    async def read_in_transaction(tx: Transaction) -> int:
        return len(await tx.get_plays(gid))

    number = 0
    while not stop.is_set():
        number += 1
        half = Half.TOP if number % 2 else Half.BOTTOM
        state = GameState(inning=1 + number // 6, half=half, home_score=number, away_score=0)
        try:
            if number % 2:
                await db.save_play(play_dict(game, number, outcome=f"single {number}"))
                numbers.append(number)
                load.wrote()
                await db.update_game_state(game_id=gid, **state.model_dump())
                load.wrote()
            else:
                await db.record_play(play_dict(game, number, outcome="out"), state)
                numbers.append(number)
                load.wrote()
            if number % 3 == 0:
                snapshot = await db.load_game_state(gid)
                assert snapshot is not None and len(snapshot.plays) == len(numbers)
                assert len(await db.get_plays(gid)) == len(numbers)
                assert await db.run_in_transaction(read_in_transaction) == len(numbers)
        except Exception as exc:
            load.failures.append(exc)


def migrations_with(tmp_path: Path, name: str, text: str) -> tuple[Path, str]:
    """The shipped migrations plus one more, in a folder of the test's own; and the new
    file's name."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in migrations_dir().glob("*.sql"):
        shutil.copy(path, folder / path.name)
    version = max(int(path.name.split("_", 1)[0]) for path in folder.glob("*.sql")) + 1
    newest = f"{version}_{name}.sql"
    (folder / newest).write_text(text)
    return folder, newest


async def migrate_under_load(
    database_url: str,
    migrations: Path,
    newest: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> tuple[Load, dict[str, int], float]:
    load = Load()
    caplog.set_level(logging.DEBUG, logger="gamedb")
    stop = asyncio.Event()
    async with await Database.connect(
        database_url, db_pool_size=WRITERS, retry=RetryPolicy(base=0.01, cap=0.2)
    ) as db:
        games = [await set_up_game(db) for _ in range(WRITERS)]
        writers = [asyncio.create_task(write_game(db, game, load, stop)) for game in games]
        try:
            await asyncio.sleep(SETTLE)
            monkeypatch.setenv("GAMEDB_MIGRATIONS_DIR", str(migrations))
            load.migrating = True
            started = time.perf_counter()
            await migrate(database_url)
            await db.expire_connections()
            migration_seconds = time.perf_counter() - started
            load.migrating = False
            await asyncio.sleep(SETTLE)
        finally:
            stop.set()
            await asyncio.gather(*writers)
        for game in games:
            stored = [play.play_number for play in await db.get_plays(game.game_id)]
            assert stored == load.acknowledged[game.game_id], "every acknowledged play, once"
    status = await migration_status(database_url)
    assert not status.pending and status.applied[-1] == newest
    return load, retries_by_error(caplog.records), migration_seconds


async def test_adding_columns_under_load_fails_no_write(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    migrations, newest = migrations_with(tmp_path, "add_weather_and_umpire_note", ADD_COLUMNS)
    load, retries, seconds = await migrate_under_load(
        database_url, migrations, newest, monkeypatch, caplog
    )
    print(
        f"\nadd columns under load: {load.writes} writes ({load.writes_during_migration} while "
        f"migrating, {seconds * 1000:.0f} ms), {len(load.failures)} failed, "
        f"retries {retries or 'none'}"
    )
    assert load.failures == []
    assert load.writes_during_migration > 0, "writers ran while the migration did"
    conn = await asyncpg.connect(database_url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE column_name IN ('weather', 'umpire_note')"
        )
        weather = await conn.fetchval("SELECT DISTINCT weather FROM games")
    finally:
        await conn.close()
    assert {(row["table_name"], row["column_name"]) for row in columns} == {
        ("games", "weather"),
        ("plays", "umpire_note"),
    }
    assert weather == "clear"


async def test_changing_a_result_type_under_load_fails_no_write(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    migrations, newest = migrations_with(tmp_path, "widen_outcome_and_team", CHANGE_RESULT_TYPE)
    load, retries, seconds = await migrate_under_load(
        database_url, migrations, newest, monkeypatch, caplog
    )
    print(
        f"\nchange result types under load: {load.writes} writes "
        f"({load.writes_during_migration} while migrating, {seconds * 1000:.0f} ms), "
        f"{len(load.failures)} failed, retries {retries or 'none'}"
    )
    assert load.failures == []
    assert load.writes_during_migration > 0, "writers ran while the migration did"


async def test_a_migration_that_loses_a_deadlock_is_applied_again(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The interleaving the load tests hit by chance, made certain: the migration holds
    ``plays`` and waits for ``games``, which a writer holds while it waits for ``plays``.
    The migration waited first, so PostgreSQL's deadlock check picks it as the victim."""
    migrations, newest = migrations_with(tmp_path, "add_weather_and_umpire_note", ADD_COLUMNS)
    monkeypatch.setenv("GAMEDB_MIGRATIONS_DIR", str(migrations))
    caplog.set_level(logging.DEBUG, logger="gamedb")
    writer = await asyncpg.connect(database_url)
    try:
        async with writer.transaction():
            # What RecordPlay's `SELECT ... FOR UPDATE` takes on games before it inserts a play.
            await writer.execute("LOCK TABLE games IN ROW SHARE MODE")
            migrating = asyncio.create_task(migrate(database_url))
            for _ in range(1000):
                if await writer.fetchval(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE relation = 'games'::regclass AND NOT granted"
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the migration never waited for games")
            await writer.fetchval("SELECT count(*) FROM plays")
        await migrating
    finally:
        await writer.close()
    retried = migration_retries(caplog.records)
    assert [error for error, _ in retried] == ["DeadlockDetectedError"]
    assert "(40P01)" in retried[0][1].getMessage()
    status = await migration_status(database_url)
    assert not status.pending and status.applied[-1] == newest


async def test_a_migration_queued_behind_a_long_reader_holds_up_no_write(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ALTER waiting for a reader's lock would queue every later write to the table
    behind it, until their statement_timeout: migrations wait at most their lock_timeout
    (2 s), give way, and are applied again once the reader is done."""
    migrations, newest = migrations_with(tmp_path, "add_weather_and_umpire_note", ADD_COLUMNS)
    caplog.set_level(logging.DEBUG, logger="gamedb")
    load = Load()
    stop = asyncio.Event()
    reader = await asyncpg.connect(database_url)
    async with await Database.connect(
        database_url, db_pool_size=WRITERS, db_statement_timeout=4.0
    ) as db:
        games = [await set_up_game(db) for _ in range(WRITERS)]
        writers = [asyncio.create_task(write_game(db, game, load, stop)) for game in games]
        try:
            async with reader.transaction():
                await reader.fetchval("SELECT count(*) FROM plays")  # holds plays until COMMIT
                monkeypatch.setenv("GAMEDB_MIGRATIONS_DIR", str(migrations))
                migrating = asyncio.create_task(migrate(database_url))
                load.migrating = True
                await asyncio.sleep(6.0)  # longer than the writers' statement_timeout
                load.migrating = False
                assert not migrating.done(), "the migration waits for the reader"
            await migrating
            await db.expire_connections()
            await asyncio.sleep(SETTLE)
        finally:
            stop.set()
            await asyncio.gather(*writers)
            await reader.close()
        for game in games:
            stored = [play.play_number for play in await db.get_plays(game.game_id)]
            assert stored == load.acknowledged[game.game_id], "every acknowledged play, once"
    gave_way = migration_retries(caplog.records)
    print(
        f"\nmigration behind a 6 s reader: {load.writes_during_migration} writes meanwhile, "
        f"{len(load.failures)} failed; the migration gave way {len(gave_way)} times"
    )
    assert load.failures == []
    assert load.writes_during_migration > 6 * WRITERS, "writes went on behind the reader"
    reasons = [error for error, _ in gave_way]
    assert "LockNotAvailableError" in reasons, "it gave way to the reader (perhaps lost a deadlock)"
    assert set(reasons) <= {"LockNotAvailableError", "DeadlockDetectedError"}
    assert all("(55P03)" in r.getMessage() or "(40P01)" in r.getMessage() for _, r in gave_way)
    status = await migration_status(database_url)
    assert not status.pending and status.applied[-1] == newest
