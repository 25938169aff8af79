"""The write-behind persister against the same games awaiting every write.

``games`` games play at once, each handing over ``game_plays`` plays back to back (yielding
to the other games after each, as an engine serving many games does). The candidate hands
them to a :class:`~gamedb.persister.GamePersister` and, once every game is done, waits for
:meth:`~gamedb.persister.GamePersister.flush`: its time runs until the last play committed.
The baseline is the same number of games, with the same plays, awaiting each
:meth:`~gamedb.Database.save_play`. The two take turns for ``rounds`` rounds, each round
continuing the games with the next plays (the persister first in even rounds, second in odd)::

    throughput, hand_off = await measure_write_behind(db, persisted, awaited, scale, tick)
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import TypeAdapter

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PlayScript, PreparedGame, roll_batch
from benchmarks.timing import Samples, Tick
from gamedb import Database, PlayData, RollRecord
from gamedb.persister import GamePersister, PersisterMetrics

__all__ = ["measure_write_behind", "measure_write_behind_at_scale"]

THROUGHPUT_BUDGET = Budget("ratio_at_least", 3.0)
HAND_OFF_BUDGET = Budget("p99_at_most", 1.0)


async def _play_all(
    games: Sequence[Sequence[PlayData]],
    write: Callable[[PlayData], Awaitable[object]],
    latencies: list[float],
) -> float:
    """Every game passes its plays to ``write`` at once, one after the other; each call's
    duration goes to ``latencies``. Returns the seconds until the last call returned."""
    clock = time.perf_counter_ns

    async def play_out(plays: Sequence[PlayData]) -> None:
        for play in plays:
            started = clock()
            await write(play)
            latencies.append((clock() - started) / 1e9)
            await asyncio.sleep(0)

    started = time.perf_counter()
    await asyncio.gather(*(play_out(plays) for plays in games))
    return time.perf_counter() - started


async def _persisted_round(
    db: Database, games: Sequence[Sequence[PlayData]], latencies: list[float]
) -> tuple[float, PersisterMetrics]:
    async with GamePersister(db) as persister:
        started = time.perf_counter()
        await _play_all(games, persister.save_play, latencies)
        await persister.flush()
        elapsed = time.perf_counter() - started
        metrics = persister.metrics
    expected = sum(len(plays) for plays in games)
    if metrics.committed != expected or metrics.failed:
        raise RuntimeError(
            f"the persister committed {metrics.committed} of {expected} plays "
            f"({metrics.failed} failed)"
        )
    return elapsed, metrics


async def measure_write_behind(
    db: Database,
    persisted: Sequence[PreparedGame],
    awaited: Sequence[PreparedGame],
    scale: Scale,
    tick: Tick,
) -> tuple[Row, Row]:
    """Plays/s of the persister vs awaiting each write, and the persister's hand-off
    latency (see the module docstring)."""
    hand_offs: list[float] = []
    waits: list[float] = []
    persisted_rates: list[float] = []
    awaited_rates: list[float] = []
    transactions = 0
    for number in range(scale.rounds):
        first, last = number * scale.game_plays + 1, (number + 1) * scale.game_plays
        ours = [PlayScript(game, seed=7).plays(first, last) for game in persisted]
        theirs = [PlayScript(game, seed=7).plays(first, last) for game in awaited]
        plays = sum(len(game) for game in ours)
        if number % 2:
            awaited_rates.append(plays / await _play_all(theirs, db.save_play, waits))
        elapsed, metrics = await _persisted_round(db, ours, hand_offs)
        persisted_rates.append(plays / elapsed)
        transactions += metrics.transactions
        if not number % 2:
            awaited_rates.append(plays / await _play_all(theirs, db.save_play, waits))
        tick(1)
    hand_off, awaited_write = Samples(tuple(hand_offs)), Samples(tuple(waits))
    total = len(hand_offs)
    games = len(persisted)
    throughput = Row(
        operation=f"write-behind plays/s ({games} games)",
        unit="plays/s",
        p50=statistics.median(persisted_rates),
        p99=None,
        baseline="the same games awaiting each save_play",
        baseline_p50=statistics.median(awaited_rates),
        budget=THROUGHPUT_BUDGET,
        samples=scale.rounds,
        details={
            "plays": total,
            "transactions": transactions,
            "mean_group": total / transactions if transactions else 0.0,
        },
    )
    latency = Row(
        operation=f"write-behind hand-off ({games} games)",
        unit="ms",
        p50=hand_off.p50 * 1e3,
        p99=hand_off.p99 * 1e3,
        baseline="an awaited save_play in the same games",
        baseline_p50=awaited_write.p50 * 1e3,
        budget=HAND_OFF_BUDGET,
        samples=total,
        details={"max": max(hand_offs) * 1e3, "baseline_p99": awaited_write.p99 * 1e3},
    )
    return throughput, latency


# ---- at scale: a thousand games playing the engine's full mix ------------------------------

SCALE_THROUGHPUT_BUDGET = Budget("ratio_at_least", 2.0)
# The ceiling writes plays and states only, the persister the whole mix (twice as many roll
# rows as plays besides): how close it comes is reported, aiming at half, not held to it.
SCALE_CEILING_AIM = 0.5
_ROLLS_PER_HALF = 10
_SCALE_PLAYS_JSON = TypeAdapter(list[PlayData])
_STATES_JSON: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])
# The ceiling's statement: every game's plays and last states of a commit, as one statement,
# nothing checked: what a hand-written writer that trusts its input would send.
_RAW_PLAYS_AND_STATES = """
WITH incoming AS (
    SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS r (
        game_id uuid, play_number integer, inning integer, half half, outs_before smallint,
        outs_recorded smallint, batter_id bigint, pitcher_id bigint, catcher_id bigint,
        on_first_id bigint, on_second_id bigint, on_third_id bigint, dice_roll text,
        result_description text, outcome text, pa smallint, ab smallint, hit smallint,
        double smallint, triple smallint, homerun smallint, bb smallint, so smallint,
        hbp smallint, rbi smallint, run smallint, sb smallint, cs smallint, error smallint,
        wild_pitch smallint, passed_ball smallint, away_score integer, home_score integer,
        complete boolean
    )
), inserted AS (
    INSERT INTO plays (
        game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
        catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description,
        outcome, pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error,
        wild_pitch, passed_ball, away_score, home_score, complete
    )
    SELECT game_id, play_number, inning, half, outs_before, outs_recorded, batter_id,
        pitcher_id, catcher_id, on_first_id, on_second_id, on_third_id, dice_roll,
        result_description, outcome, pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi,
        run, sb, cs, error, wild_pitch, passed_ball, away_score, home_score, complete
    FROM incoming
)
UPDATE games AS g SET
    current_inning = s.inning, current_half = s.half, home_score = s.home_score,
    away_score = s.away_score, outs = s.outs, state_version = g.state_version + 1,
    updated_at = now()
FROM jsonb_to_recordset($2::text::jsonb) AS s (
    game_id uuid, inning integer, half half, home_score integer, away_score integer,
    outs smallint
)
WHERE g.id = s.game_id
"""


def _state_after(play: PlayData) -> dict[str, Any]:
    return {
        "inning": play.inning,
        "half": play.half,
        "home_score": play.home_score,
        "away_score": play.away_score,
        "outs": (play.outs_before + play.outs_recorded) % 3,
    }


@dataclasses.dataclass(frozen=True, slots=True)
class _Turn:
    """One play of one game and what the engine hands over with it."""

    play: PlayData
    state: dict[str, Any]
    rolls: list[RollRecord] | None
    substitution: dict[str, Any] | None


def _mix(game: PreparedGame, plays: Sequence[PlayData], run: int) -> list[_Turn]:
    """What a game hands over in one run, made before the clock starts: each play followed by
    the state after it, a roll batch when a half inning ends, and one substitution halfway."""
    halfway = plays[len(plays) // 2].play_number
    turns = []
    for play in plays:
        ends_half = play.outs_before + play.outs_recorded == 3
        rolls = (
            roll_batch(
                game.game_id,
                prefix=f"p{play.play_number}",
                count=_ROLLS_PER_HALF,
                play_number=play.play_number,
                seed=play.play_number,
            )
            if ends_half
            else None
        )
        substitution = (
            {
                "game_id": game.game_id,
                "replacing_id": game.away.batters[run % len(game.away.batters)],
                "after_play": play.play_number,
                "position": "PH",
                "player_id": 5000 + run,
            }
            if play.play_number == halfway
            else None
        )
        state = {"game_id": game.game_id, **_state_after(play)}
        turns.append(_Turn(play, state, rolls, substitution))
    return turns


async def _play_mix(
    persister: GamePersister, turns: Sequence[_Turn], latencies: list[float]
) -> None:
    clock = time.perf_counter_ns
    for turn in turns:
        started = clock()
        await persister.save_play(turn.play)
        latencies.append((clock() - started) / 1e9)
        started = clock()
        await persister.update_game_state(**turn.state)
        latencies.append((clock() - started) / 1e9)
        if turn.rolls is not None:
            started = clock()
            await persister.save_rolls(turn.rolls)
            latencies.append((clock() - started) / 1e9)
        if turn.substitution is not None:
            started = clock()
            await persister.add_substitution(**turn.substitution)
            latencies.append((clock() - started) / 1e9)
        await asyncio.sleep(0)


async def _persisted_mix(
    db: Database,
    mixes: Sequence[Sequence[_Turn]],
    latencies: list[float],
    *,
    games_per_group: int | None,
) -> tuple[float, PersisterMetrics]:
    # The queue holds a run's writes, so that the hand-off is timed, not the backpressure a
    # full queue applies (the memory rows hold the queue to its limit).
    queue = sum(len(turns) for turns in mixes) * 3
    async with GamePersister(db, games_per_group=games_per_group, max_queued=queue) as persister:
        started = time.perf_counter()
        await asyncio.gather(*(_play_mix(persister, turns, latencies) for turns in mixes))
        await persister.flush()
        elapsed = time.perf_counter() - started
        metrics = persister.metrics
    if metrics.failed:
        raise RuntimeError(f"the persister failed {metrics.failed} writes: {metrics}")
    return elapsed, metrics


async def _raw_ceiling(
    db: Database, plays: Sequence[Sequence[PlayData]], workers: int, max_group: int
) -> float:
    """Seconds raw asyncpg takes to write the same plays and states, grouped across games,
    one statement a commit, from as many connections as the persister's workers (each
    writing its own share of the games, so that no two lock the same game row)."""
    pending: list[list[PlayData]] = [[] for _ in range(workers)]
    more = [asyncio.Event() for _ in range(workers)]
    producing = True

    async def produce(index: int, ours: Sequence[PlayData]) -> None:
        share = index % workers
        for play in ours:
            pending[share].append(play)
            more[share].set()
            await asyncio.sleep(0)

    async def write(share: int) -> None:
        queue, signal = pending[share], more[share]
        while producing or queue:
            if not queue:
                signal.clear()
                await signal.wait()
                continue
            taken = queue[:max_group]
            del queue[:max_group]
            states = {
                play.game_id: {"game_id": play.game_id, **_state_after(play)} for play in taken
            }
            await db.pool.execute(
                _RAW_PLAYS_AND_STATES,
                _SCALE_PLAYS_JSON.dump_json(taken).decode(),
                _STATES_JSON.dump_json(list(states.values())).decode(),
            )

    started = time.perf_counter()
    writers = [asyncio.create_task(write(share)) for share in range(workers)]
    await asyncio.gather(*(produce(index, ours) for index, ours in enumerate(plays)))
    producing = False
    for signal in more:
        signal.set()
    await asyncio.gather(*writers)
    return time.perf_counter() - started


async def measure_write_behind_at_scale(
    db: Database, games: Sequence[PreparedGame], scale: Scale, tick: Tick
) -> tuple[Row, Row, Row]:
    """Plays/s of one persister serving every game at once, grouping across games, beside
    the same persister keeping each transaction to one game and beside a raw-asyncpg ceiling,
    taking turns for ``scale.scale_rounds`` rounds; and the hand-off latency of the mix."""
    hand_offs: list[float] = []
    per_game_hand_offs: list[float] = []
    rates: dict[str, list[float]] = {"across": [], "per_game": [], "raw": []}
    transactions = across_plays = 0
    workers = max(1, db.max_connections // 2)
    played = substituted = 0

    async def play(variant: str, count: int, latencies: list[float]) -> float:
        """One run of ``count`` plays a game; returns plays/s."""
        nonlocal played, substituted, transactions, across_plays
        first, played = played + 1, played + count
        scripts = [PlayScript(game, seed=11).plays(first, played) for game in games]
        plays = sum(len(ours) for ours in scripts)
        if variant == "raw":
            return plays / await _raw_ceiling(db, scripts, workers, 500)
        # Each run substitutes another starter of every game (there are nine to replace).
        mixes = [_mix(game, ours, substituted) for game, ours in zip(games, scripts, strict=True)]
        substituted += 1
        elapsed, metrics = await _persisted_mix(
            db, mixes, latencies, games_per_group=None if variant == "across" else 1
        )
        if variant == "across" and latencies is hand_offs:
            transactions += metrics.transactions
            across_plays += plays
        return plays / elapsed

    # An untimed run of each first, so that no timed one pays for preparing statements.
    for variant in ("across", "per_game", "raw"):
        await play(variant, 2, [])
    for number in range(scale.scale_rounds):
        order = ["across", "per_game", "raw"]
        if number % 2:
            order.reverse()
        for variant in order:
            latencies = {"across": hand_offs, "per_game": per_game_hand_offs}.get(variant, [])
            rates[variant].append(await play(variant, scale.scale_plays, latencies))
        tick(1)
    across, per_game, raw = (
        statistics.median(rates[name]) for name in ("across", "per_game", "raw")
    )
    hand_off, per_game_hand_off = Samples(tuple(hand_offs)), Samples(tuple(per_game_hand_offs))
    label = f"{len(games):,} games, full mix"
    details = {
        "plays": across_plays,
        "transactions": transactions,
        "mean_plays_per_transaction": across_plays / transactions if transactions else 0.0,
        "raw_ceiling_plays_per_s": raw,
        "fraction_of_raw_ceiling": across / raw,
        "aimed_fraction": SCALE_CEILING_AIM,
    }
    throughput = Row(
        operation=f"write-behind plays/s ({label})",
        unit="plays/s",
        p50=across,
        p99=None,
        baseline="the same persister, one game per transaction",
        baseline_p50=per_game,
        budget=SCALE_THROUGHPUT_BUDGET,
        samples=scale.scale_rounds,
        details=details,
    )
    ceiling = dataclasses.replace(
        throughput,
        operation=f"write-behind plays/s vs raw ceiling ({label})",
        baseline="raw asyncpg: plays + states of many games, one statement a commit, unchecked",
        baseline_p50=raw,
        budget=None,
    )
    latency = Row(
        operation=f"write-behind hand-off ({label})",
        unit="ms",
        p50=hand_off.p50 * 1e3,
        p99=hand_off.p99 * 1e3,
        baseline="the hand-off with one game per transaction",
        baseline_p50=per_game_hand_off.p50 * 1e3,
        budget=HAND_OFF_BUDGET,
        samples=len(hand_off),
        details={"max": max(hand_offs) * 1e3, "baseline_p99": per_game_hand_off.p99 * 1e3},
    )
    return throughput, ceiling, latency
