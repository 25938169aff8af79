"""Network faults between gamedb and the server, injected by :mod:`tests.proxy`: lost COMMIT
replies, a black-holed network, and cancelled calls. Every figure is checked against the
database directly, never through the proxy.

Counts are reduced by default; ``GAMEDB_FULL_FAULTS=1`` (``make test-faults``) runs the full
ones. Each test prints its figures (``pytest -s`` shows them).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from gamedb import (
    Database,
    GameDBError,
    GamePersister,
    RollRecord,
    StateUpdate,
    Transaction,
    WriteHandle,
)
from gamedb.retry import RetryPolicy
from gamedb_gen import Executor
from tests.factories import AWAY, SetUpGame, play_dict, set_up_game
from tests.proxy import FaultProxy

FULL = os.environ.get("GAMEDB_FULL_FAULTS") == "1"


def scaled(reduced: int, full: int) -> int:
    return full if FULL else reduced


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(database_url) as relay:
        yield relay


@dataclasses.dataclass(frozen=True, slots=True)
class CountingRetry(RetryPolicy):
    """The default policy, counting the retries it grants."""

    granted: list[int] = dataclasses.field(default_factory=list)

    def delay(self, attempt: int) -> float:
        self.granted.append(attempt)
        return RetryPolicy.delay(self, attempt)


def state_after(step: int) -> dict[str, Any]:
    """A game state unique to ``step``, so every state write changes the game."""
    return {
        "inning": 1 + step // 20,
        "half": "top" if step % 2 else "bottom",
        "home_score": step,
        "away_score": step // 3,
    }


def rolls_for(game_id: uuid.UUID, play_number: int, tag: str, count: int = 3) -> list[RollRecord]:
    return [
        RollRecord(
            game_id=game_id,
            roll_id=f"{tag}-{play_number}-{k}",
            roll_type="ab_roll",
            play_number=play_number,
            team_id=AWAY,
            roll_data={"dice": {"d6": k + 1, "d20": play_number % 20 + 1}, "total": k},
            context={"tag": tag},
        )
        for k in range(count)
    ]


async def stored_game(conn: Executor, game_id: uuid.UUID) -> dict[str, Any]:
    """What the database holds for a game, read directly (not through the proxy)."""
    game = await conn.fetchrow("SELECT * FROM games WHERE id = $1", game_id)
    assert game is not None
    plays = await conn.fetch(
        "SELECT play_number, id FROM plays WHERE game_id = $1 ORDER BY play_number", game_id
    )
    rolls = await conn.fetch("SELECT roll_id FROM rolls WHERE game_id = $1", game_id)
    substitutions = await conn.fetchrow(
        "SELECT count(*) FROM lineups WHERE game_id = $1 AND replacing_id IS NOT NULL", game_id
    )
    assert substitutions is not None
    return {
        "game": game,
        "plays": {row["play_number"]: row["id"] for row in plays},
        "play_rows": len(plays),
        "rolls": {row["roll_id"] for row in rolls},
        "roll_rows": len(rolls),
        "substitutions": substitutions[0],
    }


async def state_version(db: Database, game: SetUpGame) -> int:
    stored = await db.get_game(game.game_id)
    assert stored is not None
    return stored.state_version


# ---- 1. commit outcome unknown ---------------------------------------------------------


@dataclasses.dataclass
class Expected:
    """What one game must hold after the run, from the values the calls returned."""

    version: int
    plays: dict[int, int] = dataclasses.field(default_factory=dict)
    rolls: set[str] = dataclasses.field(default_factory=set)
    substitutions: int = 0
    state: dict[str, Any] = dataclasses.field(default_factory=dict)
    rolls_already_stored: int = 0


async def write_a_game(db: Database, game: SetUpGame, steps: range, expected: Expected) -> None:
    """Every kind of write, in turn: save_play, record_play, save_rolls_batch,
    update_game_state, a multi-operation run_in_transaction, add_substitution. The versioned
    ones must each move the game exactly one version on."""
    gid = game.game_id
    active = {slot: entry.id for slot, entry in enumerate(game.away[:9])}
    play_number = max(expected.plays, default=0)
    for step in steps:
        kind = step % 6
        if kind == 0:
            play_number += 1
            expected.plays[play_number] = await db.save_play(play_dict(game, play_number))
        elif kind == 1:
            play_number += 1
            state = state_after(step)
            recorded = await db.record_play(
                play_dict(game, play_number), state, expected_version=expected.version
            )
            assert recorded.state_version == expected.version + 1
            expected.version = recorded.state_version
            expected.plays[play_number] = recorded.play_id
            expected.state = state
        elif kind == 2:
            batch = rolls_for(gid, play_number, f"s{step}")
            stored = await db.save_rolls_batch(batch)
            expected.rolls_already_stored += stored < len(batch)
            expected.rolls.update(roll.roll_id for roll in batch)
        elif kind == 3:
            state = state_after(step)
            update = await db.update_game_state(
                game_id=gid, **state, expected_version=expected.version
            )
            assert update == StateUpdate(state_version=expected.version + 1, changed=True)
            expected.version = update.state_version
            expected.state = state
        elif kind == 4:
            play_number += 1
            state = state_after(step)
            batch = rolls_for(gid, play_number, f"g{step}")
            play = play_dict(game, play_number)
            version = expected.version

            async def group(
                tx: Transaction,
                play: dict[str, Any] = play,
                batch: list[RollRecord] = batch,
                state: dict[str, Any] = state,
                version: int = version,
            ) -> tuple[int, int, StateUpdate]:
                play_id = await tx.save_play(play)
                stored = await tx.save_rolls_batch(batch)
                update = await tx.update_game_state(game_id=gid, **state, expected_version=version)
                return play_id, stored, update

            play_id, stored, update = await db.run_in_transaction(group, game_id=gid)
            assert update.state_version == expected.version + 1
            expected.version = update.state_version
            expected.plays[play_number] = play_id
            expected.rolls.update(roll.roll_id for roll in batch)
            expected.rolls_already_stored += stored < len(batch)
            expected.state = state
        else:
            slot = (step // 6) % 9
            entry = await db.add_substitution(
                game_id=gid,
                replacing_id=active[slot],
                after_play=play_number,
                position="PH",
                player_id=50_000 + step,
            )
            active[slot] = entry.id
            expected.substitutions += 1


@pytest.mark.slow
async def test_lost_commit_replies_resolve_as_already_applied(
    database_url: str, proxy: FaultProxy
) -> None:
    transactions = scaled(1_000, 10_000)
    dropped = transactions // 10
    game_count = scaled(10, 20)
    retry = CountingRetry()
    db = await Database.connect(
        proxy.route(database_url), db_pool_size=game_count, db_max_overflow=0, retry=retry
    )
    try:
        games = [await set_up_game(db) for _ in range(game_count)]
        expected = {game.game_id: Expected(await state_version(db, game)) for game in games}
        proxy.drop_commit_replies(count=dropped, of=transactions, seed=8)
        ends_before = proxy.stats.transactions
        started = time.perf_counter()
        per_game = transactions // game_count
        async with asyncio.TaskGroup() as writers:
            for game in games:
                writers.create_task(write_a_game(db, game, range(per_game), expected[game.game_id]))
        elapsed = time.perf_counter() - started
    finally:
        await db.close()

    stats = proxy.stats
    print(
        f"\ncommit outcome unknown: {per_game * game_count} writes, "
        f"{stats.transactions - ends_before} transaction ends, {stats.replies_dropped} replies "
        f"dropped ({stats.dropped_after_commit} after the server committed), "
        f"{len(retry.granted)} retries, all resolved as already applied (0 errors, every "
        f"versioned write one version on; {sum(e.rolls_already_stored for e in expected.values())}"
        f" roll batches found stored), in {elapsed:.1f} s"
    )
    assert stats.replies_dropped == dropped
    assert stats.dropped_after_commit == dropped, "every lost reply followed a real commit"
    assert len(retry.granted) == dropped, "each lost reply cost exactly one retry"

    conn = await asyncpg.connect(database_url)
    try:
        for game in games:
            want = expected[game.game_id]
            have = await stored_game(conn, game.game_id)
            assert have["plays"] == want.plays, "0 lost, and each retry returned the stored id"
            assert have["play_rows"] == len(want.plays), "0 duplicate plays"
            assert have["rolls"] == want.rolls and have["roll_rows"] == len(want.rolls)
            assert have["substitutions"] == want.substitutions, "0 duplicate substitutions"
            assert have["game"]["state_version"] == want.version, "each state written once"
            stored_state = {key: have["game"][f"current_{key}"] for key in ("inning", "half")}
            stored_state |= {key: have["game"][key] for key in ("home_score", "away_score")}
            assert stored_state == want.state
    finally:
        await conn.close()


# ---- 2. black-holed network -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    started: float
    ended: float
    ok: bool
    error: str = ""

    @property
    def latency(self) -> float:
        return self.ended - self.started


@pytest.mark.single_server(
    "its 0.5 s statement_timeout is shorter than asyncpg's type introspection on a fresh "
    "connection to a Citus coordinator"
)
@pytest.mark.slow
async def test_black_holed_network_is_bounded_and_loses_nothing(
    database_url: str, proxy: FaultProxy
) -> None:
    stall = 10.0 if FULL else 3.0
    command_timeout = 1.0

    async def connect(retry: RetryPolicy | None = None, pool_size: int = 4) -> Database:
        # statement_timeout below command_timeout: a client timeout means no answer at all.
        return await Database.connect(
            proxy.route(database_url),
            db_pool_size=pool_size,
            db_max_overflow=0,
            db_command_timeout=command_timeout,
            db_connect_timeout=command_timeout,
            db_statement_timeout=command_timeout / 2,
            retry=retry,
        )

    async with (
        await connect(RetryPolicy(max_attempts=1), pool_size=5) as once,
        await connect() as behind,
    ):
        max_queued = 200
        direct_games = [await set_up_game(once) for _ in range(4)]
        queued_games = [await set_up_game(behind) for _ in range(4)]
        calls: list[Call] = []
        handoffs: list[Call] = []
        handles: dict[tuple[uuid.UUID, int], WriteHandle[int]] = {}
        acknowledged: dict[uuid.UUID, int] = {}
        depth_seen: list[int] = []
        running = True

        async def call_directly(game: SetUpGame) -> None:
            """The engine awaiting each write (no retries): it re-sends a failed play, and
            stops after a success (or after 5 s of failures) once told to."""
            number = 1
            last_ok = False
            deadline = float("inf")
            while running or (not last_ok and time.monotonic() < deadline):
                if not running:
                    deadline = min(deadline, time.monotonic() + 5.0)
                started = time.monotonic()
                try:
                    await once.save_play(play_dict(game, number))
                except GameDBError as exc:
                    last_ok = False
                    calls.append(Call(started, time.monotonic(), ok=False, error=repr(exc)))
                    await asyncio.sleep(0.01)
                    continue
                last_ok = True
                calls.append(Call(started, time.monotonic(), ok=True))
                acknowledged[game.game_id] = number
                number += 1

        async def call_across_the_stall() -> None:
            """A call certain to be in flight when the network stalls: the server answers
            it after the stall began (the direct games' calls may all be answered just
            before)."""
            started = time.monotonic()
            try:
                await once.run_in_transaction(
                    lambda tx: tx.connection.execute("SELECT pg_sleep(0.3)")
                )
            except GameDBError as exc:
                calls.append(Call(started, time.monotonic(), ok=False, error=repr(exc)))
            else:
                calls.append(Call(started, time.monotonic(), ok=True))

        async def hand_off(persister: GamePersister, game: SetUpGame) -> None:
            """The engine handing writes to the persister as fast as it takes them."""
            number = 0
            while running:
                number += 1
                started = time.monotonic()
                handles[(game.game_id, number)] = await persister.save_play(play_dict(game, number))
                handoffs.append(Call(started, time.monotonic(), ok=True))
                await asyncio.sleep(0.001)

        async def watch(persister: GamePersister) -> None:
            while running:
                depth_seen.append(persister.metrics.queue_depth)
                await asyncio.sleep(0.01)

        async with GamePersister(behind, max_queued=max_queued) as persister:
            async with asyncio.TaskGroup() as engine:
                for game in direct_games:
                    engine.create_task(call_directly(game))
                for game in queued_games:
                    engine.create_task(hand_off(persister, game))
                engine.create_task(watch(persister))
                await asyncio.sleep(0.4)
                engine.create_task(call_across_the_stall())
                await asyncio.sleep(0.1)
                stalled_at = time.monotonic()
                proxy.stall()
                await asyncio.sleep(stall)
                waits_during_stall = persister.metrics.handoff_waits
                depth_at_restore = persister.metrics.queue_depth
                restored_at = time.monotonic()
                proxy.pass_through()
                await asyncio.sleep(1.5)
                running = False
            await persister.flush()
            metrics = persister.metrics
            results = {key: await handle for key, handle in handles.items()}

    in_flight = [c for c in calls if c.started < restored_at and c.ended > stalled_at]
    failed = [c for c in in_flight if not c.ok]
    first_direct = min(c.ended for c in calls if c.ok and c.started >= restored_at)
    first_commit_after = min(c.ended for c in calls if c.ok and c.ended > restored_at)
    blocked = [h for h in handoffs if h.ended > restored_at and h.started < restored_at]
    first_handoff_after = min(h.ended for h in blocked) if blocked else restored_at
    print(
        f"\nblack hole for {stall:.0f} s, command_timeout {command_timeout:g} s: "
        f"{len(failed)} in-flight calls failed "
        f"({dict(collections.Counter(c.error.partition('(')[0] for c in failed))}), "
        f"max latency {max(c.latency for c in failed):.2f} s (of calls in flight at the stall "
        f"{max(c.latency for c in failed if c.started < stalled_at):.2f} s);"
        f" first write after restoring {first_commit_after - restored_at:.2f} s, "
        f"first new call done {first_direct - restored_at:.2f} s; persister queue peaked at "
        f"{max(depth_seen)}/{max_queued}, {waits_during_stall} hand-offs waited, the first "
        f"blocked one returned {first_handoff_after - restored_at:.2f} s after restoring; "
        f"{metrics.retries} group retries, {len(results)} writes acknowledged, 0 lost"
    )
    # asyncpg fails the command at command_timeout; gamedb then drops the connection rather
    # than wait for asyncpg's cancel request, which the black hole swallows too. A call made
    # during the stall may first have to open a connection (DB_CONNECT_TIMEOUT, here equal).
    caught = [c for c in failed if c.started < stalled_at]
    assert caught, "the black hole must have caught calls in flight"
    assert all(
        c.error.startswith("TransientError(")
        or (c.error.startswith("ConnectionFailed(") and "DB_CONNECT_TIMEOUT" in c.error)
        for c in failed
    ), "typed, transient: no reply in time, or no connection opened within DB_CONNECT_TIMEOUT"
    assert max(c.latency for c in caught) <= command_timeout + 0.5
    assert max(c.latency for c in failed) <= 2 * command_timeout + 0.5
    assert all(not c.ok for c in calls if stalled_at + 0.05 < c.started and c.ended < restored_at)
    assert first_commit_after - restored_at <= 1.0
    assert first_direct - restored_at <= 1.0
    assert max(depth_seen) == max_queued and depth_at_restore == max_queued
    assert waits_during_stall > 0, "the hand-off waited: backpressure"
    assert first_handoff_after - restored_at <= 1.0
    assert metrics.failed == 0

    conn = await asyncpg.connect(database_url)
    try:
        for game in direct_games:
            have = await stored_game(conn, game.game_id)
            assert sorted(have["plays"]) == list(range(1, acknowledged[game.game_id] + 1))
        for game in queued_games:
            have = await stored_game(conn, game.game_id)
            mine = {n: play_id for (gid, n), play_id in results.items() if gid == game.game_id}
            assert have["plays"] == mine, "every acknowledged write is stored, once"
    finally:
        await conn.close()


# ---- 3. cancellation ------------------------------------------------------------------


Write = Callable[[], Awaitable[object]]


def recorded(number: int) -> bool:
    """Whether play ``number`` of :func:`planned_writes` goes through ``record_play``."""
    return number % 3 == 1


def planned_writes(db: Database, game: SetUpGame, count: int) -> list[Write]:
    """The engine's writes for one game, in order, in turn: ``record_play`` (play and state in
    one statement), play + rolls in ``run_in_transaction``, and play + rolls in a
    ``db.transaction()`` block."""
    writes: list[Write] = []
    for number in range(1, count + 1):
        play = play_dict(game, number)
        batch = rolls_for(game.game_id, number, "c")
        if recorded(number):
            writes.append(functools.partial(db.record_play, play, state_after(number)))
        elif number % 3 == 2:

            async def group(
                tx: Transaction, play: dict[str, Any] = play, batch: list[RollRecord] = batch
            ) -> int:
                play_id = await tx.save_play(play)
                await tx.save_rolls_batch(batch)
                return play_id

            writes.append(functools.partial(db.run_in_transaction, group, game_id=game.game_id))
        else:

            async def block(play: dict[str, Any] = play, batch: list[RollRecord] = batch) -> int:
                async with db.transaction() as tx:
                    play_id = await tx.save_play(play)
                    await tx.save_rolls_batch(batch)
                    return play_id

            writes.append(block)
    return writes


async def sessions_in_transaction(conn: Executor, database: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        " AND state LIKE 'idle in transaction%'",
        database,
    )
    return [row["state"] for row in rows]


@pytest.mark.slow
async def test_cancelled_writes_are_all_or_nothing_and_resend_exactly_once(
    database_url: str, proxy: FaultProxy
) -> None:
    writes_total = scaled(800, 5_000)
    game_count = 8
    pool_size = 4
    rng = random.Random(3)
    outcome: collections.Counter[str] = collections.Counter()
    proxy.delay(0.0005)  # a little latency, so a cut lands anywhere in a write

    async def cut_short(write: Write) -> str:
        """Run ``write``, at random under a ``wait_for`` timeout, cancelled as a task, or
        left alone; say how it ended."""
        choice, limit = rng.random(), rng.uniform(0.0, 0.012)
        if choice < 0.35:
            try:
                await asyncio.wait_for(write(), timeout=limit)
            except TimeoutError:
                return "timed out"
        elif choice < 0.7:
            task = asyncio.ensure_future(write())
            await asyncio.sleep(limit)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
        else:
            await write()
        return "completed"

    async with (
        await Database.connect(
            proxy.route(database_url), db_pool_size=pool_size, db_max_overflow=0
        ) as db,
        asyncpg.create_pool(database_url, min_size=1, max_size=game_count) as direct,
    ):
        games = [await set_up_game(db) for _ in range(game_count)]
        per_game = writes_total // game_count

        async def stored(game_id: uuid.UUID, number: int) -> tuple[int, int, int, int]:
            """Play ``number``'s rows, its rolls, and the game's version and home score."""
            row = await direct.fetchrow(
                "SELECT (SELECT count(*) FROM plays WHERE game_id = $1 AND play_number = $2),"
                " (SELECT count(*) FROM rolls WHERE game_id = $1 AND play_number = $2),"
                " state_version, home_score FROM games WHERE id = $1",
                game_id,
                number,
            )
            assert row is not None
            return (row[0], row[1], row[2], row[3])

        async def engine(game: SetUpGame) -> None:
            """Writes one game's plays in order; a write cut short is checked for all or
            nothing, then re-sent (its outcome is unknown), as the engine would."""
            version, score = await state_version(db, game), 0
            for number, write in enumerate(planned_writes(db, game, per_game), 1):
                ended = await cut_short(write)
                outcome[ended] += 1
                absent = (0, 0, version, score)
                if recorded(number):
                    version, score = version + 1, number
                applied = (1, 0 if recorded(number) else 3, version, score)
                if ended != "completed":
                    have = await stored(game.game_id, number)
                    assert have in (applied, absent), f"play {number} half written: {have}"
                    outcome["applied" if have == applied else "absent"] += 1
                    await write()
                assert await stored(game.game_id, number) == applied, "exactly once"

        started = time.perf_counter()
        async with asyncio.TaskGroup() as engines:
            for game in games:
                engines.create_task(engine(game))
        elapsed = time.perf_counter() - started
        proxy.pass_through()

        pool = db.pool
        for _ in range(100):
            if pool.get_idle_size() == pool.get_size():
                break
            await asyncio.sleep(0.05)
        database = await direct.fetchval("SELECT current_database()")
        assert await sessions_in_transaction(direct, database) == []
        assert 1 <= pool.get_size() <= pool_size
        assert pool.get_idle_size() == pool.get_size(), "every connection came back"
        conns = [await pool.acquire() for _ in range(pool_size)]
        try:
            assert [await c.fetchval("SELECT 1") for c in conns] == [1] * pool_size
        finally:
            for c in conns:
                await pool.release(c)
        record_plays = sum(map(recorded, range(1, per_game + 1)))
        for game in games:
            have = await stored_game(direct, game.game_id)
            assert sorted(have["plays"]) == list(range(1, per_game + 1))
            assert have["play_rows"] == per_game, "each write exactly once"
            assert have["roll_rows"] == 3 * (per_game - record_plays)

    cut = outcome["timed out"] + outcome["cancelled"]
    print(
        f"\ncancellation: {per_game * game_count} writes in {elapsed:.1f} s, "
        f"{outcome['timed out']} wait_for timeouts and {outcome['cancelled']} task "
        f"cancellations; of those {cut}, {outcome['applied']} had committed whole and "
        f"{outcome['absent']} left nothing; 0 idle in transaction; pool "
        f"{pool_size}/{pool_size} usable; after re-sending, every write exactly once"
    )


async def test_a_lost_commit_reply_returns_what_the_committed_transaction_did(
    database_url: str, proxy: FaultProxy
) -> None:
    """Two versioned updates in one transaction: re-running it after its COMMIT's reply was
    lost would find the game two versions on and could not tell its own write from another
    writer's. gamedb asks the server what became of the transaction instead."""
    async with await Database.connect(
        proxy.route(database_url), db_pool_size=2, retry=CountingRetry()
    ) as db:
        game = await set_up_game(db)
        version = await state_version(db, game)
        runs = 0

        async def two_updates(tx: Transaction) -> tuple[StateUpdate, StateUpdate]:
            nonlocal runs
            runs += 1
            first = await tx.update_game_state(
                game_id=game.game_id, **state_after(1), expected_version=version
            )
            second = await tx.update_game_state(
                game_id=game.game_id, **state_after(2), expected_version=first.state_version
            )
            return first, second

        proxy.drop_commit_replies(count=1, of=1)
        first, second = await db.run_in_transaction(two_updates, game_id=game.game_id)
        assert proxy.stats.dropped_after_commit == 1
        assert runs == 1, "the committed transaction was not run again"
        assert (first.state_version, second.state_version) == (version + 1, version + 2)
        assert await state_version(db, game) == version + 2
