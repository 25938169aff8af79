"""The pool, transactions, retries and what never leaks: the password."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import urllib.parse
import uuid

import asyncpg
import pytest

from gamedb import (
    ConfigurationError,
    ConnectionFailed,
    Database,
    GameDBError,
    Transaction,
    TransientError,
)
from gamedb.retry import RetryPolicy
from gamedb.settings import Settings
from tests.factories import play_dict, set_up_game

SENTINEL = "s3ntinel-Pa55word"


def with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    user = user.split(":")[0] or "postgres"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


async def test_exception_inside_transaction_leaves_nothing(db: Database) -> None:
    gid = uuid.uuid4()
    with pytest.raises(RuntimeError, match="engine crashed"):
        async with db.transaction() as tx:
            await tx.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
            await tx.add_sba_lineup_player(game_id=gid, team_id=1, player_id=7, position="P")
            await tx.create_game_session(gid)
            raise RuntimeError("engine crashed")
    assert await db.get_game(gid) is None
    async with db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM lineups") == 0
        assert await conn.fetchval("SELECT count(*) FROM game_sessions") == 0


async def test_operations_compose_and_commit_together(db: Database) -> None:
    gid = uuid.uuid4()
    async with db.transaction() as tx:
        await tx.create_game(game_id=gid, league_id="pd", home_team_id=1, away_team_id=2)
        entry = await tx.add_pd_lineup_card(game_id=gid, team_id=1, card_id=77, position="P")
        await tx.update_game_state(game_id=gid, inning=1, half="bottom", home_score=0, away_score=0)
    assert await db.get_active_lineup(gid, 1) == [entry]
    game = await db.get_game(gid)
    assert game is not None and game.state_version == 1


async def test_failed_operation_rolls_back_the_whole_block(db: Database) -> None:
    gid = uuid.uuid4()
    with pytest.raises(GameDBError):
        async with db.transaction() as tx:
            await tx.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
            await tx.save_play(
                {
                    "game_id": gid,
                    "play_number": 1,
                    "inning": 1,
                    "half": "top",
                    "outs_before": 0,
                    "batter_id": 424242,
                    "pitcher_id": 424243,
                    "away_score": 0,
                    "home_score": 0,
                }
            )
    assert await db.get_game(gid) is None


@pytest.mark.parametrize("isolation", ["read_committed", "repeatable_read", "serializable"])
async def test_isolation_level_is_selectable(db: Database, isolation: str) -> None:
    async with db.transaction(isolation=isolation, readonly=True) as tx:  # type: ignore[arg-type]
        settings = await tx.connection.fetchrow(
            "SELECT current_setting('transaction_isolation') AS level,"
            " current_setting('transaction_read_only') AS readonly"
        )
    assert settings is not None
    assert settings["level"] == isolation.replace("_", " ") and settings["readonly"] == "on"


async def test_run_in_transaction_retries_the_whole_unit(db: Database) -> None:
    calls = 0

    async def work(tx: Transaction) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise asyncpg.SerializationError("could not serialize access")
        return calls

    assert await db.run_in_transaction(work) == 3


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_transient_failures_retry_and_every_write_lands_once(
    database_url: str, sqlstate: str
) -> None:
    async with await Database.connect(
        database_url, db_pool_size=2, retry=RetryPolicy(base=0.001, cap=0.005)
    ) as db:
        game = await set_up_game(db)
        async with db.pool.acquire() as conn:
            await conn.execute(
                f"""
                CREATE SEQUENCE injected_faults;
                CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF random() < 0.3 THEN
                        PERFORM nextval('injected_faults');
                        RAISE EXCEPTION 'injected fault' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER inject_before BEFORE INSERT ON plays
                    FOR EACH ROW EXECUTE FUNCTION inject_fault();
                CREATE TRIGGER inject_after AFTER INSERT ON plays
                    FOR EACH ROW EXECUTE FUNCTION inject_fault();
                CREATE TRIGGER inject_state BEFORE UPDATE ON games
                    FOR EACH ROW EXECUTE FUNCTION inject_fault();
                """
            )
        state = {"inning": 1, "half": "top", "home_score": 0, "away_score": 0, "outs": 0}
        for n in range(1, 61):
            if n % 2:
                await db.save_play(play_dict(game, n))
            else:
                await db.record_play(play_dict(game, n), state)
        plays = await db.get_plays(game.game_id)
        assert [p.play_number for p in plays] == list(range(1, 61))
        async with db.pool.acquire() as conn:
            # Sequences ignore rollbacks: this counts every injected fault.
            faults = await conn.fetchval("SELECT last_value FROM injected_faults")
        assert faults >= 10, "the faults were injected and retried"
        stored = await db.get_game(game.game_id)
        assert stored is not None and stored.state_version == 30


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
async def test_constraint_errors_never_retry(db: Database) -> None:
    game = await set_up_game(db)
    async with db.pool.acquire() as conn:
        await conn.execute(
            """
            CREATE SEQUENCE play_attempts;
            CREATE FUNCTION count_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM nextval('play_attempts'); RETURN NEW; END $$;
            CREATE TRIGGER count_attempt BEFORE INSERT ON plays
                FOR EACH ROW EXECUTE FUNCTION count_attempt();
            """
        )
    with pytest.raises(GameDBError):
        await db.save_play(play_dict(game, 1, batter_id=999999))
    async with db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT last_value FROM play_attempts") == 1


async def test_pool_size_and_overflow_bound_connections(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "4")
    async with await Database.connect() as db:
        assert db.max_connections == 7
        assert db.pool.get_max_size() == 7 and db.pool.get_min_size() == 3


async def test_defaults_allow_thirty_connections(database_url: str) -> None:
    async with await Database.connect(database_url) as db:
        assert db.pool.get_max_size() == 30 and db.pool.get_min_size() == 10


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "postgresql://h:notaport/db", "not a url", "postgresql:///db"],
)
async def test_malformed_database_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        await Database.connect(url)
    assert isinstance(caught.value, ValueError)


async def test_a_misspelt_setting_is_refused_naming_it_and_the_valid_ones(
    database_url: str,
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        await Database.connect(database_url, db_pool_sise=2)
    message = str(refused.value)
    assert "'db_pool_sise'" in message and "did you mean 'db_pool_size'" in message
    assert all(name in message for name in Settings.model_fields)
    with pytest.raises(ConfigurationError, match="'pool_timeout'"):
        await Database.connect(settings=Settings.load(database_url=database_url), pool_timeout=1)


async def test_password_never_appears(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gamedb")
    url = with_password(database_url, SENTINEL)
    async with await Database.connect(url, db_pool_size=1) as db:
        game = await set_up_game(db)
        await db.save_play(play_dict(game, 1))
        with pytest.raises(GameDBError) as caught:
            await db.save_play(play_dict(game, 1, hit=1))
        texts = [repr(db), str(db), db.url, str(caught.value), repr(caught.value)]
    bad = with_password("postgresql://postgres@127.0.0.1:1/nothing", SENTINEL)
    with pytest.raises(ConnectionFailed) as refused:
        await Database.connect(bad, db_connect_timeout=2)
    texts += [str(refused.value), repr(refused.value), caplog.text]
    with pytest.raises(ConfigurationError) as malformed:
        await Database.connect(bad.replace(":1/", ":port/"))
    texts.append(str(malformed.value))
    assert all(SENTINEL not in text for text in texts)
    assert "***" in db.url


async def test_operations_log_debug_with_game_and_duration_and_errors(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """What the caller is handed (a result or an error) is logged at DEBUG only."""
    game = await set_up_game(db)
    caplog.set_level(logging.DEBUG, logger="gamedb")
    caplog.clear()
    await db.save_play(play_dict(game, 1))
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(str(game.game_id) in r.getMessage() and " ms" in r.getMessage() for r in debug)
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]
    caplog.clear()
    with pytest.raises(GameDBError):
        await db.save_play(play_dict(game, 2, batter_id=987654))
    with pytest.raises(GameDBError):
        async with db.transaction() as tx:
            await tx.save_play(play_dict(game, 2, batter_id=987654))
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 2
    assert all(str(game.game_id) in m and "plays_batter_fkey" in m for m in failures)


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
async def test_only_retries_that_ran_out_log_a_warning(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            """
            CREATE SEQUENCE attempts;
            CREATE FUNCTION fail_twice() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('attempts') <= 2 THEN
                    RAISE EXCEPTION 'serialization failure for the test' USING ERRCODE = '40001';
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER fail_twice AFTER INSERT ON games
                FOR EACH STATEMENT EXECUTE FUNCTION fail_twice();
            """
        )
        caplog.set_level(logging.DEBUG, logger="gamedb")
        quick = RetryPolicy(base=0.001, cap=0.01)
        async with await Database.connect(database_url, db_pool_size=1, retry=quick) as db:
            await set_up_game(db)  # completed by the third attempt
            assert not [r for r in caplog.records if r.levelno > logging.DEBUG]
            assert any("retrying" in r.getMessage() for r in caplog.records)
        await admin.execute("ALTER SEQUENCE attempts RESTART")
        once_more = RetryPolicy(base=0.001, cap=0.01, max_attempts=2)
        async with await Database.connect(database_url, db_pool_size=1, retry=once_more) as db:
            caplog.clear()
            with pytest.raises(TransientError):
                await set_up_game(db)
        assert [r.levelno for r in caplog.records if r.levelno > logging.DEBUG] == [logging.WARNING]
    finally:
        await admin.close()


def test_the_library_installs_no_log_handler() -> None:
    handlers = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, gamedb.database, gamedb.persister, gamedb.migrate;"
            "print(logging.getLogger('gamedb').handlers, logging.getLogger().handlers)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert handlers.stdout.split() == ["[]", "[]"]


async def test_close_waits_then_terminates_at_the_deadline(database_url: str) -> None:
    db = await Database.connect(database_url, db_pool_size=1)
    held = await db.pool.acquire()
    backend = held.get_server_pid()
    started = asyncio.get_running_loop().time()
    await db.close(timeout=0.5)
    elapsed = asyncio.get_running_loop().time() - started
    assert 0.4 <= elapsed < 3.0
    check = await asyncpg.connect(database_url)
    try:
        for _ in range(50):
            if not await check.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend
            ):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the held connection survived close()")
    finally:
        await check.close()
