"""``save_rolls_batch`` against a raw binary COPY of the same rows.

The candidate stores a batch of validated :class:`~gamedb.RollRecord` (one statement, keyed,
so a re-sent batch never duplicates, refusing a stored roll with other dice); the baseline
hands the same rows, as tuples of plain Python values with ``roll_data`` and ``context`` as
dicts, to :meth:`asyncpg.Pool.copy_records_to_table`, whose binary COPY JSON-encodes them
(the pool's jsonb codec) as it goes. Every batch of either side has roll ids of its own;
building a batch (the models, the tuples) is not timed::

    row = await measure_save_rolls_batch(db, game, size=1000, iterations=100, ...)
"""

from __future__ import annotations

from collections.abc import Awaitable

from benchmarks.report import Budget, Row
from benchmarks.scenario import PreparedGame, roll_batch
from benchmarks.timing import Tick, interleave
from gamedb import Database, RollRecord

__all__ = ["measure_save_rolls_batch"]

LARGE_BATCH = 1000
"""Batches of at least this many rolls are held to the bulk budget, smaller ones to the
single-batch one."""

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
        baseline_name="raw binary COPY of the same rows, JSON encoding included",
        budget=Budget("ratio_at_most", 1.3 if size >= LARGE_BATCH else 1.2),
    )
