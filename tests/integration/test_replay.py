"""The replay helper: the state after a play follows the rules of the game, and replaying
the stored plays gives back the state ``record_play`` wrote."""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from gamedb import Database, GameState, Half, Play
from gamedb.replay import INITIAL_STATE, state_after
from tests.oracles import replay_state, stored_state
from tests.simulate import SimulatedGame

GAME = uuid.uuid4()
NOW = datetime.datetime(2026, 11, 27, 19, 0, tzinfo=datetime.UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.connect(database_url, db_pool_size=2) as database:
        yield database


def stored_play(
    number: int,
    *,
    inning: int = 1,
    half: Half = Half.TOP,
    outs_before: int = 0,
    outs_recorded: int = 0,
    away_score: int = 0,
    home_score: int = 0,
) -> Play:
    """A play as the database returns it; only what the replay reads varies."""
    return Play(
        game_id=GAME,
        id=number,
        play_number=number,
        inning=inning,
        half=half,
        outs_before=outs_before,
        outs_recorded=outs_recorded,
        batter_id=1,
        pitcher_id=2,
        catcher_id=None,
        on_first_id=None,
        on_second_id=None,
        on_third_id=None,
        dice_roll=None,
        result_description=None,
        outcome=None,
        pa=1,
        ab=1,
        hit=0,
        double=0,
        triple=0,
        homerun=0,
        bb=0,
        so=0,
        hbp=0,
        rbi=0,
        run=0,
        sb=0,
        cs=0,
        error=0,
        wild_pitch=0,
        passed_ball=0,
        away_score=away_score,
        home_score=home_score,
        complete=True,
        created_at=NOW,
    )


def state(inning: int, half: Half, outs: int, away: int = 0, home: int = 0) -> GameState:
    return GameState(inning=inning, half=half, outs=outs, away_score=away, home_score=home)


def test_before_the_first_play_the_game_is_at_its_start() -> None:
    assert state_after(None) == INITIAL_STATE == state(1, Half.TOP, 0)
    assert replay_state([]) == INITIAL_STATE


@pytest.mark.parametrize(
    ("play", "after"),
    [
        pytest.param(stored_play(1), state(1, Half.TOP, 0), id="single keeps the outs"),
        pytest.param(stored_play(1, outs_recorded=1), state(1, Half.TOP, 1), id="first out"),
        pytest.param(
            stored_play(1, outs_before=1, outs_recorded=1),
            state(1, Half.TOP, 2),
            id="second out",
        ),
        pytest.param(
            stored_play(1, outs_before=2, outs_recorded=1),
            state(1, Half.BOTTOM, 0),
            id="third out in the top ends the half",
        ),
        pytest.param(
            stored_play(1, inning=4, half=Half.BOTTOM, outs_before=2, outs_recorded=1),
            state(5, Half.TOP, 0),
            id="third out in the bottom starts the next inning",
        ),
        pytest.param(
            stored_play(1, inning=3, outs_before=1, outs_recorded=2),
            state(3, Half.BOTTOM, 0),
            id="double play for the last two outs",
        ),
        pytest.param(
            stored_play(1, inning=7, half=Half.BOTTOM, outs_recorded=3),
            state(8, Half.TOP, 0),
            id="triple play",
        ),
        pytest.param(
            stored_play(
                1,
                inning=12,
                half=Half.BOTTOM,
                outs_before=2,
                outs_recorded=1,
                away_score=5,
                home_score=5,
            ),
            state(13, Half.TOP, 0, away=5, home=5),
            id="extra innings",
        ),
        pytest.param(
            stored_play(1, inning=2, half=Half.BOTTOM, outs_before=1, away_score=3, home_score=4),
            state(2, Half.BOTTOM, 1, away=3, home=4),
            id="scores are the play's",
        ),
        pytest.param(
            stored_play(1, inning=9, outs_before=2, outs_recorded=1, away_score=2, home_score=1),
            state(9, Half.BOTTOM, 0, away=2, home=1),
            id="a run and the third out",
        ),
    ],
)
def test_state_after_a_play(play: Play, after: GameState) -> None:
    assert state_after(play) == after
    assert replay_state([play]) == after


def test_replaying_a_half_inning() -> None:
    plays = [
        stored_play(1, outs_recorded=1),
        stored_play(2, outs_before=1, away_score=1),
        stored_play(3, outs_before=1, outs_recorded=1, away_score=1),
        stored_play(4, outs_before=2, outs_recorded=1, away_score=1),
        stored_play(5, half=Half.BOTTOM, away_score=1, home_score=2),
    ]
    assert replay_state(plays[:4]) == state(1, Half.BOTTOM, 0, away=1)
    assert replay_state(plays) == state(1, Half.BOTTOM, 0, away=1, home=2)


@pytest.mark.parametrize(
    "numbers", [[2], [1, 3], [1, 2, 2], [2, 1]], ids=["late start", "gap", "repeat", "order"]
)
def test_replay_refuses_plays_out_of_sequence(numbers: list[int]) -> None:
    with pytest.raises(ValueError, match="missing"):
        replay_state([stored_play(n) for n in numbers])


def test_replay_refuses_a_falling_score() -> None:
    with pytest.raises(ValueError, match="score decreases"):
        replay_state([stored_play(1, home_score=2), stored_play(2, home_score=1)])


@pytest.mark.parametrize("seed", range(6))
async def test_replaying_stored_plays_gives_the_state_record_play_wrote(
    db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    game = await SimulatedGame.start(db, "pd" if seed % 2 else "sba")
    for _ in range(rng.randint(40, 160)):
        await game.play(db, rng)
        if rng.random() < 0.15:
            stored = await db.load_game_state(game.game_id)
            assert stored is not None
            replayed = replay_state(stored.plays)
            assert replayed == game.state
            assert stored_state(stored.game) == replayed
    assert replay_state(await db.get_plays(game.game_id)) == game.state
    assert game.state.inning > 1, "the game went past the first inning"
