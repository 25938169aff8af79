"""Single writes: ``save_play`` and ``update_game_state`` against one raw statement each.

``save_play`` takes a validated :class:`~gamedb.PlayData` and stores it (one transaction);
its baseline is the same row given to one raw ``INSERT … RETURNING id`` through
:meth:`asyncpg.Pool.fetchval` on the same pool. Both sides write fresh play numbers of the
same game, odd for one and even for the other, with the content of the same simulated play.
``update_game_state`` writes a new score each time; its baseline is one raw ``UPDATE …
RETURNING state_version`` of the same columns::

    row = await measure_save_play(db, game, scale, tick)
"""

from __future__ import annotations

from collections.abc import Awaitable

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PlayScript, PreparedGame
from benchmarks.timing import Tick, interleave
from gamedb import Database, Half, PlayData

__all__ = ["measure_save_play", "measure_update_game_state"]

SAVE_PLAY_BUDGET = Budget("ratio_at_most", 1.1)
UPDATE_BUDGET = Budget("ratio_at_most", 1.1)

_PLAY_COLUMNS = tuple(PlayData.model_fields)
_INSERT_PLAY = (
    f"INSERT INTO plays ({', '.join(_PLAY_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_PLAY_COLUMNS) + 1))}) RETURNING id"
)
_UPDATE_GAME = (
    "UPDATE games SET current_inning = $2, current_half = $3, home_score = $4, "
    "away_score = $5, outs = $6, state_version = state_version + 1, updated_at = now() "
    "WHERE id = $1 RETURNING state_version"
)


async def measure_save_play(db: Database, game: PreparedGame, scale: Scale, tick: Tick) -> Row:
    """``save_play`` vs one raw ``INSERT … RETURNING id`` (see the module docstring)."""
    script = PlayScript(game, seed=11).plays(1, 300)
    pool = db.pool

    def content(index: int, number: int) -> dict[str, object]:
        return {**script[index % len(script)].model_dump(), "play_number": number}

    def candidate(index: int) -> Awaitable[object]:
        return db.save_play(PlayData.model_validate(content(index, 2 * index + 1)))

    def baseline(index: int) -> Awaitable[object]:
        return pool.fetchval(_INSERT_PLAY, *content(index, 2 * index + 2).values())

    timed, raw = await interleave(
        [candidate, baseline], iterations=scale.iterations, warmup=scale.warmup, tick=tick
    )
    return Row.timed(
        "save_play",
        timed,
        raw,
        baseline_name="one raw INSERT … RETURNING id (pool.fetchval)",
        budget=SAVE_PLAY_BUDGET,
    )


async def measure_update_game_state(
    db: Database, game: PreparedGame, scale: Scale, tick: Tick
) -> Row:
    """``update_game_state`` vs one raw ``UPDATE … RETURNING state_version``."""
    pool = db.pool

    def state(index: int) -> tuple[int, Half, int, int, int]:
        inning = 1 + index % 9
        return inning, Half.TOP if index % 2 else Half.BOTTOM, index, index // 2, index % 3

    def candidate(index: int) -> Awaitable[object]:
        inning, half, home, away, outs = state(2 * index)
        return db.update_game_state(
            game_id=game.game_id,
            inning=inning,
            half=half,
            home_score=home,
            away_score=away,
            outs=outs,
        )

    def baseline(index: int) -> Awaitable[object]:
        return pool.fetchval(_UPDATE_GAME, game.game_id, *state(2 * index + 1))

    timed, raw = await interleave(
        [candidate, baseline], iterations=scale.iterations, warmup=scale.warmup, tick=tick
    )
    return Row.timed(
        "update_game_state",
        timed,
        raw,
        baseline_name="one raw UPDATE … RETURNING state_version (pool.fetchval)",
        budget=UPDATE_BUDGET,
    )
