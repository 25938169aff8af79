"""One benchmark run: a fresh database, realistic games, every row of the table.

The games are written through gamedb itself (see :mod:`benchmarks.scenario`); every row then
times gamedb against its raw-asyncpg baseline on the same pool::

    report = await run_benchmarks(Scale(), progress=Progress(total=plan_units(Scale())))
"""

from __future__ import annotations

import datetime
import os
import platform
import time

from benchmarks.memory import measure_memory
from benchmarks.progress import Progress
from benchmarks.recovery import measure_load_game_state
from benchmarks.report import Report, Row
from benchmarks.rolls import measure_save_rolls_batch
from benchmarks.scale import Scale
from benchmarks.scenario import PreparedGame, prepare_game, prepare_games
from benchmarks.server import bench_database
from benchmarks.timing import Tick
from benchmarks.write_behind import measure_write_behind, measure_write_behind_at_scale
from benchmarks.writes import measure_save_play, measure_update_game_state
from gamedb import Database

__all__ = ["plan_units", "run_benchmarks"]

# Rough milliseconds per progress step of each phase, so the bar moves with the clock.
_WEIGHTS = {
    "prepare": 3000,
    "single": 1,
    "load": 12,
    "small_rolls": 2,
    "large_rolls": 40,
    "round": 3000,
    "scale_round": 20000,
    "memory": 12000,
}


def _phases(scale: Scale) -> dict[str, int]:
    return {
        "prepare": 1,
        "single": 2 * (scale.warmup + scale.iterations),
        "load": 2 * (scale.slow_warmup + scale.load_iterations),
        "small_rolls": scale.warmup + scale.iterations,
        "large_rolls": scale.slow_warmup + scale.large_roll_iterations,
        "round": scale.rounds,
        "scale_round": scale.scale_rounds,
        "memory": 2,
    }


def plan_units(scale: Scale) -> int:
    """The progress units a run of this scale goes through."""
    return sum(_WEIGHTS[name] * steps for name, steps in _phases(scale).items())


def _ticker(progress: Progress, phase: str) -> Tick:
    weight = _WEIGHTS[phase]
    return lambda steps: progress.advance(weight * steps)


async def _measure(
    db: Database, url: str, scale: Scale, progress: Progress
) -> tuple[list[Row], list[PreparedGame]]:
    progress.phase("preparing games")
    writes = await prepare_game(db, seed=1)
    recovered = await prepare_game(db, plays=scale.plays, seed=2)
    persisted = await prepare_games(db, scale.games, seed=1_000_000)
    awaited = await prepare_games(db, scale.games, seed=2_000_000)
    for_memory = await prepare_games(db, max(scale.memory_games), seed=3_000_000)
    at_scale = await prepare_games(db, scale.scale_games, seed=4_000_000)
    made = [writes, recovered, *persisted, *awaited, *for_memory, *at_scale]
    progress.advance(_WEIGHTS["prepare"])

    rows: list[Row] = []
    progress.phase("save_play")
    rows.append(await measure_save_play(db, writes, scale, _ticker(progress, "single")))
    progress.phase("update_game_state")
    rows.append(await measure_update_game_state(db, writes, scale, _ticker(progress, "single")))
    progress.phase("load_game_state")
    rows.extend(await measure_load_game_state(db, recovered, scale, _ticker(progress, "load")))
    progress.phase(f"save_rolls_batch ({scale.small_rolls})")
    rows.append(
        await measure_save_rolls_batch(
            db,
            writes,
            size=scale.small_rolls,
            iterations=scale.iterations,
            warmup=scale.warmup,
            tick=_ticker(progress, "small_rolls"),
        )
    )
    progress.phase(f"save_rolls_batch ({scale.large_rolls})")
    rows.append(
        await measure_save_rolls_batch(
            db,
            writes,
            size=scale.large_rolls,
            iterations=scale.large_roll_iterations,
            warmup=scale.slow_warmup,
            tick=_ticker(progress, "large_rolls"),
        )
    )
    progress.phase(f"write-behind ({scale.games} games)")
    rows.extend(
        await measure_write_behind(db, persisted, awaited, scale, _ticker(progress, "round"))
    )
    progress.phase(f"write-behind at scale ({scale.scale_games} games)")
    rows.extend(
        await measure_write_behind_at_scale(db, at_scale, scale, _ticker(progress, "scale_round"))
    )
    progress.phase("write-behind memory ({} and {} games)".format(*scale.memory_games))
    rows.extend(await measure_memory(url, for_memory, scale, _ticker(progress, "memory")))
    return rows, made


async def run_benchmarks(scale: Scale, *, progress: Progress) -> Report:
    """Measure every row on a fresh database (see :mod:`benchmarks.server`)."""
    started = time.monotonic()
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    async with bench_database() as target:
        db = await Database.connect(target.url, migrate=False)
        try:
            version = await db.pool.fetchval("SHOW server_version")
            rows, made = await _measure(db, target.url, scale, progress)
            if not target.scratch:
                for game in made:
                    await db.delete_game(game.game_id)
        finally:
            await db.close()
    progress.close()
    return Report(
        rows=tuple(rows),
        date=date,
        machine={
            "cores": os.cpu_count() or 0,
            "python": platform.python_version(),
            "postgresql": str(version).split()[0],
            "server": target.server,
        },
        scale=scale.as_json(),
        seconds=time.monotonic() - started,
    )
