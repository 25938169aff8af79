"""Peak memory of the write-behind persister at two game counts, each run in a process of its
own, beside the memory of the same games without a persister.

A run is a fresh Python process (``python -m benchmarks.memory``: its games as JSON on stdin,
``DATABASE_URL`` naming the database, a :class:`MemoryRun` as JSON on stdout) holding an open
:class:`~gamedb.Database`, in which every game makes ``memory_plays`` plays, one at a time as
it goes. With ``persister`` each play is handed to one
:class:`~gamedb.persister.GamePersister` whose queue holds ``memory_queue`` writes (flushed at
the end); without, each play is dropped once made, which leaves the games' own memory.
Both game counts hand over more plays than the queue holds, so the queue is full in both.

The process reports its resident set before the run and its peak during it: Linux ``VmHWM``,
reset through ``/proc/self/clear_refs`` as the run starts (``ru_maxrss`` of
:func:`resource.getrusage` would carry the parent's peak over fork and exec); elsewhere
``ru_maxrss``. A persister that held writes per game or per play would grow with ten times
the games; a bounded one stays near the smaller run's peak::

    rows = await measure_memory(url, games, scale, tick)
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PlayScript, PreparedGame
from benchmarks.timing import Tick
from gamedb import Database
from gamedb.persister import GamePersister

__all__ = ["MemoryRun", "measure_memory", "run_child"]

MEMORY_BUDGET = Budget("ratio_at_most", 1.5)
_PROJECT = Path(__file__).resolve().parent.parent  # where ``-m benchmarks.memory`` resolves


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryRun:
    """What one child process reports (sizes in MiB)."""

    games: int
    persister: bool
    plays: int
    before_mb: float
    peak_mb: float
    seconds: float
    deepest_queue: int
    transactions: int
    handoff_waits: int
    """Hand-offs that waited for queue space: more than none shows the limit was reached."""


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> None:
    """Start the peak over from the current size, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


async def _child_run(spec: dict[str, Any]) -> MemoryRun:
    games = [PreparedGame.from_json(raw) for raw in spec["games"]]
    first, count, queue = int(spec["first"]), int(spec["plays"]), int(spec["queue"])
    with_persister = bool(spec["persister"])
    async with await Database.connect() as db:
        persister = GamePersister(db, max_queued=queue)
        deepest = 0

        async def play_out(game: PreparedGame) -> None:
            for play in PlayScript(game, seed=3).between(first, first + count - 1):
                if with_persister:
                    await persister.save_play(play)
                await asyncio.sleep(0)

        async def watch() -> None:
            nonlocal deepest
            while True:
                deepest = max(deepest, persister.metrics.queue_depth)
                await asyncio.sleep(0.01)

        gc.collect()
        _reset_peak()
        before = _status_mb("VmRSS") or _peak_mb()
        started = time.perf_counter()
        watcher = asyncio.create_task(watch())
        async with persister:
            await asyncio.gather(*(play_out(game) for game in games))
            await persister.flush()
            metrics = persister.metrics
        watcher.cancel()
        seconds = time.perf_counter() - started
    expected = len(games) * count if with_persister else 0
    if metrics.committed != expected or metrics.failed:
        raise RuntimeError(f"committed {metrics.committed} of {expected} plays")
    return MemoryRun(
        games=len(games),
        persister=with_persister,
        plays=len(games) * count,
        before_mb=before,
        peak_mb=_peak_mb(),
        seconds=seconds,
        deepest_queue=deepest,
        transactions=metrics.transactions,
        handoff_waits=metrics.handoff_waits,
    )


def run_child() -> None:
    """The child process: its spec on stdin, a :class:`MemoryRun` as JSON on stdout."""
    run = asyncio.run(_child_run(json.load(sys.stdin)))
    json.dump(dataclasses.asdict(run), sys.stdout)


async def _spawn(url: str, spec: dict[str, Any]) -> MemoryRun:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.memory",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=_PROJECT,
        env={**os.environ, "DATABASE_URL": url},
    )
    out, err = await process.communicate(json.dumps(spec).encode())
    if process.returncode != 0:
        raise RuntimeError(f"memory run {spec['persister']=} failed:\n{err.decode()}")
    return MemoryRun(**json.loads(out))


def _details(run: MemoryRun, alone: MemoryRun, queue: int) -> dict[str, float | int]:
    return {
        "plays": run.plays,
        "seconds": run.seconds,
        "before_mb": run.before_mb,
        "games_alone_peak_mb": alone.peak_mb,
        "above_games_alone_mb": run.peak_mb - alone.peak_mb,
        "queue_limit": queue,
        "deepest_queue": run.deepest_queue,
        "transactions": run.transactions,
        "handoff_waits": run.handoff_waits,
    }


async def measure_memory(
    url: str, games: Sequence[PreparedGame], scale: Scale, tick: Tick
) -> tuple[Row, Row, Row]:
    """Peak RSS at each game count beside the games alone, and the larger count's peak held
    to :data:`MEMORY_BUDGET` of the smaller's."""
    plays, queue = scale.memory_plays, scale.memory_queue
    runs: list[tuple[MemoryRun, MemoryRun]] = []
    # Plays are numbered without gaps, so the larger run goes first: it writes plays 1..n of
    # every game, and the smaller run continues its games from n + 1.
    for number, count in enumerate(sorted(scale.memory_games, reverse=True)):
        spec: dict[str, Any] = {
            "games": [game.to_json() for game in games[:count]],
            "first": 1 + number * plays,
            "plays": plays,
            "queue": queue,
        }
        alone = await _spawn(url, {**spec, "persister": False})
        persisted = await _spawn(url, {**spec, "persister": True})
        runs.insert(0, (persisted, alone))
        tick(1)
    rows = [
        Row(
            operation=f"write-behind peak RSS ({run.games:,} games)",
            unit="MB",
            p50=run.peak_mb,
            p99=None,
            baseline="the same games without a persister",
            baseline_p50=alone.peak_mb,
            budget=None,
            samples=1,
            details=_details(run, alone, queue),
        )
        for run, alone in runs
    ]
    (small, _), (large, large_alone) = runs
    rows.append(
        Row(
            operation=f"write-behind peak RSS, {large.games:,} vs {small.games:,} games",
            unit="MB",
            p50=large.peak_mb,
            p99=None,
            baseline=f"the {small.games:,}-game run",
            baseline_p50=small.peak_mb,
            budget=MEMORY_BUDGET,
            samples=1,
            details=_details(large, large_alone, queue),
        )
    )
    return rows[0], rows[1], rows[2]


if __name__ == "__main__":
    run_child()
