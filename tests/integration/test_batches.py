"""The batch operations the persister writes through: many games' plays, states and
substitutions in one statement each, all or nothing, with the single calls' rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from gamedb import (
    ConstraintViolation,
    Database,
    GameNotFound,
    GameStatus,
    InvalidInput,
    StateChange,
)
from tests.factories import play_dict, set_up_game


async def test_plays_and_states_of_many_games_in_one_call(db: Database) -> None:
    first, second = await set_up_game(db), await set_up_game(db)
    plays = [play_dict(first, 1), play_dict(second, 1), play_dict(first, 2), play_dict(second, 2)]
    states: list[StateChange | dict[str, Any]] = [
        StateChange(
            game_id=first.game_id,
            inning=1,
            half="top",
            home_score=0,
            away_score=0,
            outs=2,
            status=GameStatus.ACTIVE,
        ),
        {"game_id": first.game_id, "inning": 1, "half": "bottom", "home_score": 1, "away_score": 0},
        {"game_id": second.game_id, "inning": 2, "half": "top", "home_score": 0, "away_score": 3},
    ]
    ids = await db.record_plays_batch(plays, states)
    stored = {
        p.id: (p.game_id, p.play_number)
        for g in (first, second)
        for p in await db.get_plays(g.game_id)
    }
    assert [stored[i] for i in ids] == [(p["game_id"], p["play_number"]) for p in plays]
    # Re-sent: the same ids, nothing new.
    assert await db.record_plays_batch(plays, states) == ids
    game = await db.get_game(first.game_id)
    assert game is not None
    assert (game.current_half, game.home_score, game.outs, game.status) == (
        "bottom",
        1,
        2,
        GameStatus.ACTIVE,
    )
    other = await db.get_game(second.game_id)
    assert other is not None and (other.current_inning, other.away_score) == (2, 3)


async def test_a_refused_play_or_state_writes_nothing_of_the_batch(db: Database) -> None:
    game = await set_up_game(db)
    with pytest.raises(ConstraintViolation, match="plays_batter_fkey"):
        await db.save_plays_batch([play_dict(game, 1), play_dict(game, 2, batter_id=10**9)])
    unknown = uuid.uuid4()
    with pytest.raises(GameNotFound) as missing:
        await db.record_plays_batch(
            [play_dict(game, 1)],
            [{"game_id": unknown, "inning": 1, "half": "top", "home_score": 0, "away_score": 0}],
        )
    assert missing.value.game_id == unknown
    assert await db.get_plays(game.game_id) == []
    not_a_list: object = play_dict(game, 1)
    with pytest.raises(InvalidInput):
        await db.save_plays_batch(not_a_list)  # type: ignore[arg-type]


async def test_substitutions_in_one_call_keep_the_single_calls_rules(db: Database) -> None:
    game = await set_up_game(db)
    gid = game.game_id
    pinch = {"game_id": gid, "replacing_id": game.away[0].id, "after_play": 0, "position": "PH"}
    runner = {"game_id": gid, "replacing_id": game.away[1].id, "after_play": 0, "position": "PR"}
    added = await db.add_substitutions_batch(
        [{**pinch, "player_id": 150}, {**runner, "player_id": 151}]
    )
    assert [(entry.replacing_id, entry.player_id) for entry in added] == [
        (game.away[0].id, 150),
        (game.away[1].id, 151),
    ]
    # Re-sent: the stored rows; the same entry replaced twice: the second is refused, and
    # nothing of that batch stays.
    assert await db.add_substitutions_batch([{**pinch, "player_id": 150}]) == added[:1]
    fresh = {**pinch, "replacing_id": game.away[2].id}
    with pytest.raises(ConstraintViolation, match="no longer active"):
        await db.add_substitutions_batch([{**fresh, "player_id": 152}, {**fresh, "player_id": 153}])
    active = await db.get_active_lineup(gid, game.away[0].team_id)
    assert game.away[2].id in {entry.id for entry in active}
    with pytest.raises(InvalidInput):
        await db.add_substitutions_batch([{**pinch, "player_id": True}])
    with pytest.raises(InvalidInput):
        await db.add_substitutions_batch([{**pinch, "player_id": 160, "bogus": 1}])
