"""The input models: what an operation hands its generated function."""

from __future__ import annotations

import datetime
import uuid

import pytest

from gamedb import (
    GameState,
    PlayData,
    RollRecord,
    StateChange,
)
from gamedb.models import LineupEntryData, NewGame, SubstitutionData, _Input

GAME = uuid.UUID(int=7)

INPUTS: list[_Input] = [
    PlayData(
        game_id=GAME,
        play_number=4,
        inning=2,
        half="bottom",
        outs_before=1,
        batter_id=3,
        pitcher_id=9,
        on_first_id=5,
        away_score=1,
        home_score=0,
        result_description="single",
    ),
    GameState(inning=3, half="top", home_score=2, away_score=1, outs=2),
    StateChange(game_id=GAME, inning=9, half="bottom", home_score=4, away_score=3),
    RollRecord(
        game_id=GAME,
        roll_id="r1",
        roll_type="ab",
        play_number=4,
        roll_data={"d6": 4, "d20": 17},
        context={"inning": 2},
        rolled_at=datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC),
    ),
    NewGame(game_id=GAME, league_id="pd", home_team_id=1, away_team_id=2),
    LineupEntryData(game_id=GAME, team_id=1, card_id=77, position="C", batting_order=2),
    SubstitutionData(game_id=GAME, replacing_id=3, after_play=4, position="PH", player_id=8),
]


@pytest.mark.parametrize("model", INPUTS, ids=lambda model: type(model).__name__)
def test_the_arguments_of_a_flat_input_are_its_dump(model: _Input) -> None:
    arguments = model.arguments()
    dumped = model.model_dump()
    assert arguments == dumped
    assert [type(value) for value in arguments.values()] == [
        type(value) for value in dumped.values()
    ]
