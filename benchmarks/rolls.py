"""``save_rolls_batch`` against a raw binary COPY of the same rows.

The candidate stores a batch of validated :class:`~gamedb.RollRecord` (one statement, keyed,
so a re-sent batch never duplicates); the baseline hands the same rows, as tuples of plain
Python values, to :meth:`asyncpg.Pool.copy_records_to_table`. Every batch of either side has
roll ids of its own; building a batch is not timed::

    row = await measure_save_rolls_batch(db, game, size=1000, iterations=100, ...)
"""

from __future__ import annotations

from collections.abc import Awaitable

from benchmarks.report import Budget, Row
from benchmarks.scenario import PreparedGame, roll_batch
from benchmarks.timing import Tick, interleave
from gamedb import Database, RollRecord

__all__ = ["measure_save_rolls_batch"]

ROLLS_BUDGET = Budget("ratio_at_most", 1.5)

_COLUMNS = tuple(RollRecord.model_fields)


def _record(roll: RollRecord) -> tuple[object, ...]:
    return (
        roll.game_id,
        roll.roll_id,
        roll.roll_type,
        roll.play_number,
        roll.team_id,
        roll.player_id,
        roll.roll_data.model_dump(),
        roll.context,
        roll.rolled_at,
    )


async def measure_save_rolls_batch(
    db: Database,
    game: PreparedGame,
    *,
    size: int,
    iterations: int,
    warmup: int,
    tick: Tick,
) -> Row:
    """Batches of ``size`` rolls: ``save_rolls_batch`` vs ``copy_records_to_table``."""
    pool = db.pool

    def batch(index: int, side: str) -> list[RollRecord]:
        return roll_batch(
            game.game_id, prefix=f"{side}{size}-{index}", count=size, play_number=1, seed=index
        )

    def candidate(index: int) -> Awaitable[object]:
        return db.save_rolls_batch(batch(index, "c"))

    def baseline(index: int) -> Awaitable[object]:
        records = [_record(roll) for roll in batch(index, "b")]
        return pool.copy_records_to_table("rolls", records=records, columns=_COLUMNS)

    timed, raw = await interleave(
        [candidate, baseline], iterations=iterations, warmup=warmup, tick=tick
    )
    return Row.timed(
        f"save_rolls_batch ({size:,} rolls)",
        timed,
        raw,
        baseline_name="raw copy_records_to_table of the same rows",
        budget=ROLLS_BUDGET,
    )
