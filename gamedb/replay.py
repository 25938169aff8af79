"""Recompute a game's state (inning, half, outs, scores) from its stored plays.

Used by ``rollback_to_play`` to restore the game row from the last play it keeps::

    state = state_after(plays[-1] if plays else None)
"""

from __future__ import annotations

from gamedb.models import GameState
from gamedb_gen.models import Half, Play

__all__ = ["INITIAL_STATE", "state_after"]

INITIAL_STATE = GameState(inning=1, half=Half.TOP, home_score=0, away_score=0, outs=0)


def state_after(play: Play | None) -> GameState:
    """The game's state right after ``play`` (the initial state for ``None``): the third
    out ends the half inning."""
    if play is None:
        return INITIAL_STATE
    outs = play.outs_before + play.outs_recorded
    inning, half = play.inning, play.half
    if outs >= 3:
        outs = 0
        if half is Half.TOP:
            half = Half.BOTTOM
        else:
            half, inning = Half.TOP, inning + 1
    return GameState(
        inning=inning,
        half=half,
        outs=outs,
        home_score=play.home_score,
        away_score=play.away_score,
    )
