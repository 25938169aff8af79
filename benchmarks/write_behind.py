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
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PlayScript, PreparedGame
from benchmarks.timing import Samples, Tick
from gamedb import Database, PlayData
from gamedb.persister import GamePersister, PersisterMetrics

__all__ = ["measure_write_behind"]

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
