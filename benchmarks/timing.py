"""Timing a candidate against its baselines, interleaved, after a warm-up.

The machines are shared and noisy, so the candidate and its baselines take turns on the same
pool, the order flipping every round (A B, B A, A B, …): a disturbance lands on both sides
instead of skewing one, and neither side always runs right after the other. A step is called
with the iteration number and returns the awaitable to time; only awaiting it is timed, so a
plain function can build its input first and then hand back the coroutine::

    def candidate(i: int) -> Awaitable[object]:
        return db.save_play(play_numbered(i))          # building the play is not timed

    timed = await interleave([candidate, baseline], iterations=1000, warmup=100)
    timed[0].p50, timed[0].p99, timed[1].p50           # seconds
    candidate.p50, candidate.p99, baseline.p50          # seconds

Wraps :func:`time.perf_counter_ns`.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from collections.abc import Awaitable, Callable, Sequence

__all__ = ["Samples", "Step", "Tick", "interleave", "percentile"]

Step = Callable[[int], Awaitable[object]]
Tick = Callable[[int], None]
"""Told of each round a measurement completes (drives the progress bar)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q ≤ 100) of ``values``."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass(frozen=True, slots=True)
class Samples:
    """Durations of one side, in seconds."""

    seconds: tuple[float, ...]

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p99(self) -> float:
        return percentile(self.seconds, 99)

    def __len__(self) -> int:
        return len(self.seconds)


async def interleave(
    steps: Sequence[Step],
    *,
    iterations: int,
    warmup: int,
    tick: Tick = lambda _: None,
) -> list[Samples]:
    """Run ``steps`` in turn ``warmup`` times untimed, then ``iterations`` times timed, in
    reverse order every other round (the step numbers run on: ``warmup``, ``warmup + 1``, …);
    one :class:`Samples` per step, in the order of ``steps``.
    ``tick`` is told of every round."""
    for index in range(warmup):
        for step in steps:
            await step(index)
        tick(1)
    gc.collect()
    timings: list[list[float]] = [[] for _ in steps]
    clock = time.perf_counter_ns
    for index in range(warmup, warmup + iterations):
        turns = list(zip(steps, timings, strict=True))
        if index % 2:
            turns.reverse()
        for step, times in turns:
            pending = step(index)
            started = clock()
            await pending
            times.append((clock() - started) / 1e9)
        tick(1)
    return [Samples(tuple(times)) for times in timings]
