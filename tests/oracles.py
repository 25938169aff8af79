"""What the tests check a game against: the state its plays replay to, checking they are in
order, and the state its row holds::

    assert stored_state(snapshot.game) == replay_state(snapshot.plays)
"""

from __future__ import annotations

from collections.abc import Sequence

from gamedb import Game, GameState, Play
from gamedb.replay import state_after

__all__ = ["replay_state", "stored_state"]


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
