"""Recompute a game's state (inning, half, outs, scores) from its stored plays.

Used by ``rollback_to_play`` to restore the game row, and by tests to check it::

    state = state_after(plays[-1] if plays else None)
    state = replay_state(plays)        # the same, checking the plays are in order
"""

from __future__ import annotations

from collections.abc import Sequence

from gamedb.models import GameState
from gamedb_gen.models import Game, Half, Play

__all__ = ["INITIAL_STATE", "replay_state", "state_after", "stored_state"]

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


def replay_state(plays: Sequence[Play]) -> GameState:
    """The state after the last of ``plays``; raises ``ValueError`` when they are not
    numbered 1, 2, 3, … or a score goes down."""
    for expected, play in enumerate(plays, start=1):
        if play.play_number != expected:
            raise ValueError(f"play {expected} is missing (found {play.play_number})")
        if expected > 1:
            before = plays[expected - 2]
            if play.home_score < before.home_score or play.away_score < before.away_score:
                raise ValueError(f"a score decreases at play {expected}")
    return state_after(plays[-1] if plays else None)


def stored_state(game: Game) -> GameState:
    """The state ``game``'s row holds, to compare with what the plays replay to."""
    return GameState(
        inning=game.current_inning,
        half=game.current_half,
        outs=game.outs,
        home_score=game.home_score,
        away_score=game.away_score,
    )
