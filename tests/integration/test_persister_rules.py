"""The persister applies the operations' own rules: each write it takes is accepted or
refused as the direct call would be, whatever it was grouped with, and its lifecycle
(close, flush, an event loop ending) never loses a write without a word."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
import warnings
from typing import Any

import asyncpg
import pytest

from gamedb import (
    ConstraintViolation,
    Database,
    GameDBError,
    GamePersister,
    GameStatus,
    InvalidInput,
    PlayNotFound,
    StaleState,
    StreamStopped,
    WriteHandle,
)
from gamedb.retry import RetryPolicy
from tests.factories import AWAY, SetUpGame, play_dict, set_up_game


async def handed(persister: GamePersister, game: SetUpGame, numbers: list[int]) -> list[Any]:
    """Plays ``numbers`` handed off back to back (nothing yields in between, so one group)."""
    return [await persister.save_play(play_dict(game, n)) for n in numbers]


async def test_states_queued_together_merge_field_by_field(db: Database) -> None:
    persisted, direct = await set_up_game(db), await set_up_game(db)
    ending: dict[str, Any] = {"inning": 9, "half": "bottom", "home_score": 3, "away_score": 2}
    final = {**ending, "outs": 2, "status": "completed"}
    walk_off = {**ending, "home_score": 4}  # outs and status left as they are
    async with GamePersister(db) as persister:
        first = await persister.update_game_state(game_id=persisted.game_id, **final)
        second = await persister.update_game_state(game_id=persisted.game_id, **walk_off)
        await first
        await second
    await db.update_game_state(game_id=direct.game_id, **final)
    await db.update_game_state(game_id=direct.game_id, **walk_off)
    stored = await db.get_game(persisted.game_id)
    expected = await db.get_game(direct.game_id)
    assert stored is not None and expected is not None
    assert (stored.status, stored.outs, stored.home_score) == (GameStatus.COMPLETED, 2, 4)
    fields = {"current_inning", "current_half", "outs", "home_score", "away_score", "status"}
    assert stored.model_dump(include=fields) == expected.model_dump(include=fields)
    assert stored.completed_at is not None


async def test_a_gap_inside_a_group_is_refused_like_save_play_refuses_it(db: Database) -> None:
    game, other = await set_up_game(db), await set_up_game(db)
    async with GamePersister(db) as persister:
        first, orphan, far = await handed(persister, game, [1, 3, 1000])
        assert isinstance(await first, int)
        with pytest.raises(PlayNotFound) as refused:
            await orphan
        assert (refused.value.play_number, refused.value.last_play) == (2, 1)
        with pytest.raises(StreamStopped):
            await far
        persister.resume(str(game.game_id))
        # Not only a group's first play: the third of 2, 3, 5 has no predecessor either.
        two, three, five = await handed(persister, game, [2, 3, 5])
        assert [await two, await three] == [p.id for p in (await db.get_plays(game.game_id))[1:]]
        with pytest.raises(PlayNotFound) as later:
            await five
        assert (later.value.play_number, later.value.last_play) == (4, 3)
    assert [p.play_number for p in await db.get_plays(game.game_id)] == [1, 2, 3]
    # The operation the persister goes through refuses the same, and writes nothing.
    with pytest.raises(PlayNotFound) as direct:
        await db.save_plays_batch([play_dict(other, n) for n in (1, 3)])
    assert (direct.value.play_number, direct.value.last_play) == (2, 1)
    assert await db.get_plays(other.game_id) == []


async def test_record_play_never_reports_a_state_it_did_not_write(db: Database) -> None:
    game = await set_up_game(db)
    after_one = {"inning": 1, "half": "top", "home_score": 0, "away_score": 0, "outs": 1}
    recorded = await db.record_play(play_dict(game, 1), after_one)
    # Re-sent as it was: already applied, the same answer.
    assert await db.record_play(play_dict(game, 1), after_one) == recorded
    assert (
        await db.record_play(
            play_dict(game, 1), after_one, expected_version=recorded.state_version - 1
        )
        == recorded
    )
    other_state = {**after_one, "outs": 2, "home_score": 5}
    with pytest.raises(ConstraintViolation):
        await db.record_play(play_dict(game, 1), other_state)
    with pytest.raises(StaleState):
        await db.record_play(
            play_dict(game, 1), other_state, expected_version=recorded.state_version - 1
        )
    stored = await db.get_game(game.game_id)
    assert stored is not None
    assert (stored.outs, stored.home_score, stored.state_version) == (
        1,
        0,
        recorded.state_version,
    )


async def test_flush_failure_and_resume_take_a_text_game_id(
    db: Database, database_url: str
) -> None:
    game = await set_up_game(db)
    text = str(game.game_id)
    async with GamePersister(db) as persister:
        (handle,) = await handed(persister, game, [1])
        await persister.flush(text)
        assert handle.done()
        clash = await persister.save_play(play_dict(game, 1, outcome="other"))
        with pytest.raises(ConstraintViolation) as conflict:
            await clash
        with pytest.raises(StreamStopped):
            await persister.flush(text)
        assert persister.failure(text) is conflict.value
        assert persister.resume(text) is conflict.value
        assert persister.failure(game.game_id) is None


async def test_concurrent_closes_wait_for_and_report_the_same_outcome(
    db: Database, database_url: str
) -> None:
    game = await set_up_game(db)
    blocker = await asyncio.wait_for(asyncpg.connect(database_url), 10)
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE plays IN ACCESS EXCLUSIVE MODE")
        persister = GamePersister(db)
        await handed(persister, game, [1, 2, 3, 4, 5])
        first, second = await asyncio.gather(persister.close(0.3), persister.close(0.3))
        assert first is second
        assert not first.clean
        assert len(first.unwritten) == 5
        assert await persister.close() is first
        await lock.rollback()
    finally:
        await blocker.close()
    assert await db.get_plays(game.game_id) == []


def test_an_event_loop_ending_with_writes_queued_warns(database_url: str, caplog: Any) -> None:
    """The engine forgot ``close()``: the loop's end cancels the workers with writes queued,
    and gamedb says so (ResourceWarning and an error in its log) rather than drop them."""

    async def forget_to_close() -> None:
        db = await Database.connect(database_url, db_pool_size=1)
        blocker = await asyncpg.connect(database_url)
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE plays IN ACCESS EXCLUSIVE MODE")
        game = await set_up_game(db)
        persister = GamePersister(db)
        await handed(persister, game, [1, 2, 3])
        await asyncio.sleep(0.1)
        blocker.terminate()
        db.pool.terminate()

    caplog.set_level(logging.ERROR, logger="gamedb.persister")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(forget_to_close())
        gc.collect()
    ours = [
        w
        for w in caught
        if issubclass(w.category, ResourceWarning) and "GamePersister" in str(w.message)
    ]
    assert len(ours) == 1
    assert "3 writes handed off were never written" in str(ours[0].message)
    assert any("never written" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("player_id", [True, "77", 78.0])
async def test_hand_off_is_exactly_as_strict_as_the_direct_call(
    db: Database, player_id: Any
) -> None:
    game = await set_up_game(db)
    arguments = {
        "game_id": game.game_id,
        "replacing_id": game.away[0].id,
        "after_play": 0,
        "position": "PH",
        "player_id": player_id,
    }
    async with GamePersister(db) as persister:
        with pytest.raises(InvalidInput) as handed_off:
            await persister.add_substitution(**arguments)
        with pytest.raises(InvalidInput) as direct:
            await db.add_substitution(**arguments)
        assert str(handed_off.value) == str(direct.value)
        not_a_list: Any = 5
        with pytest.raises(InvalidInput) as rolls_handed_off:
            await persister.save_rolls(not_a_list)
        with pytest.raises(InvalidInput) as rolls_direct:
            await db.save_rolls_batch(not_a_list)
        assert str(rolls_handed_off.value) == str(rolls_direct.value)
        assert persister.metrics.queue_depth == 0
    assert len(await db.get_active_lineup(game.game_id, game.away[0].team_id)) == 10


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("play", {"outs_before": 2, "outs_recorded": 2}),
        ("play", {"hit": True, "inning": 0}),
        ("play", {"game_id": "not-a-uuid"}),
        ("state", {"inning": 0, "status": "won"}),
        ("state", {"outs": 3, "home_score": -1}),
        ("state", {"game_id": 7}),
        ("rollback", {"play_number": -1}),
        ("rollback", {"play_number": 2**31}),
        ("rollback", {"game_id": b"short"}),
        ("snapshot", {"state_snapshot": {"when": {1, 2}}}),
        ("snapshot", {"state_snapshot": float("nan")}),
        ("substitution", {"card_id": 5}),
        ("substitution", {"batting_order": 10, "after_play": -1}),
        ("rolls", {"rolls": [{"roll_id": "a", "roll_type": "x"}]}),
        ("rolls", {"rolls": "not a list"}),
    ],
)
async def test_every_hand_off_refuses_what_the_direct_call_refuses_in_the_same_words(
    db: Database, kind: str, arguments: dict[str, Any]
) -> None:
    game = await set_up_game(db)
    gid = game.game_id
    calls: dict[str, tuple[str, str, dict[str, Any]]] = {
        "play": ("save_play", "save_play", {"play": play_dict(game, 1)}),
        "state": (
            "update_game_state",
            "update_game_state",
            {"game_id": gid, "inning": 1, "half": "top", "home_score": 0, "away_score": 0},
        ),
        "rollback": ("rollback_to_play", "rollback_to_play", {"game_id": gid, "play_number": 0}),
        "snapshot": (
            "update_session_snapshot",
            "update_session_snapshot",
            {"game_id": gid, "state_snapshot": {}},
        ),
        "substitution": (
            "add_substitution",
            "add_substitution",
            {
                "game_id": gid,
                "replacing_id": game.away[0].id,
                "after_play": 0,
                "position": "PH",
                "player_id": 150,
            },
        ),
        "rolls": ("save_rolls", "save_rolls_batch", {"rolls": []}),
    }
    handed_name, direct_name, valid = calls[kind]
    sent = {**valid, **arguments}
    if kind == "play":
        sent = {"play": {**valid["play"], **arguments}}
    # The roll batch is the one positional argument (named differently on the two sides).
    args, kwargs = ([sent["rolls"]], {}) if kind == "rolls" else ([], sent)
    async with GamePersister(db) as persister:
        with pytest.raises(InvalidInput) as handed_off:
            await getattr(persister, handed_name)(*args, **kwargs)
        assert persister.metrics.queue_depth == 0
    with pytest.raises(InvalidInput) as direct:
        await getattr(db, direct_name)(*args, **kwargs)
    assert str(handed_off.value) == str(direct.value)
    assert handed_off.value.game_id == direct.value.game_id


@pytest.mark.parametrize(
    "arguments",
    [{"workers": 2.5}, {"workers": True}, {"max_group": 0}, {"max_queued": "5"}, {"retry": 3}],
)
async def test_constructor_arguments_are_checked(db: Database, arguments: Any) -> None:
    with pytest.raises(InvalidInput):
        GamePersister(db, **arguments)


@pytest.mark.single_server(
    "slows plays with a trigger; Citus refuses triggers on distributed tables"
)
async def test_a_group_too_large_for_the_statement_timeout_is_split(database_url: str) -> None:
    async with await Database.connect(database_url, db_pool_size=2, db_statement_timeout=0.3) as db:
        game = await set_up_game(db)
        async with db.pool.acquire() as conn:
            # Each stored play takes 40 ms: 16 in one statement overrun 0.3 s, 4 do not.
            await conn.execute(
                """
                CREATE FUNCTION slow_play() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(0.04); RETURN NEW; END $$;
                CREATE TRIGGER slow_play BEFORE INSERT ON plays
                    FOR EACH ROW EXECUTE FUNCTION slow_play();
                """
            )
        persister = GamePersister(db, retry=RetryPolicy(base=0.01, cap=0.05, deadline=3.0))
        handles = await handed(persister, game, list(range(1, 17)))
        report = await persister.close(timeout=30)
        assert report.clean, report
        assert [await handle for handle in handles] == [
            play.id for play in await db.get_plays(game.game_id)
        ]
        assert persister.metrics.splits >= 3
        assert persister.metrics.retries == 0


async def test_games_share_transactions_and_one_games_error_stays_its_own(
    db: Database,
) -> None:
    games = [await set_up_game(db) for _ in range(6)]
    bad = games[3]
    # Many games a transaction, asked for: on Citus the default is one.
    async with GamePersister(db, games_per_group=500) as persister:
        handles: dict[uuid.UUID, list[Any]] = {}
        for game in games:
            plays = [play_dict(game, n) for n in (1, 2, 3)]
            if game is bad:
                plays[1]["batter_id"] = 10**9
            handles[game.game_id] = [await persister.save_play(play) for play in plays]
            await persister.update_game_state(
                game_id=game.game_id, inning=1, half="top", home_score=0, away_score=3, outs=1
            )
        await persister.flush()
        metrics = persister.metrics
        with pytest.raises(ConstraintViolation, match="plays_batter_fkey") as failure:
            await handles[bad.game_id][1]
        assert persister.failure(bad.game_id) is failure.value
        with pytest.raises(StreamStopped):
            await handles[bad.game_id][2]
    assert isinstance(await handles[bad.game_id][0], int)
    for game in games:
        numbers = [p.play_number for p in await db.get_plays(game.game_id)]
        assert numbers == ([1] if game is bad else [1, 2, 3])
        stored = await db.get_game(game.game_id)
        assert stored is not None
        assert (stored.away_score, stored.outs) == ((0, 0) if game is bad else (3, 1))
    # Good games were committed together, and finding the bad one took a few transactions,
    # not one per write.
    assert metrics.max_group_size >= 2 * 4
    assert metrics.transactions < len(games) * 4


async def test_a_roll_batch_of_several_games_is_refused_at_hand_off(db: Database) -> None:
    game = await set_up_game(db)
    rolls = [
        {"game_id": game.game_id, "roll_id": "a", "roll_type": "x", "roll_data": {}},
        {"game_id": uuid.uuid4(), "roll_id": "b", "roll_type": "x", "roll_data": {}},
    ]
    async with GamePersister(db) as persister:
        with pytest.raises(InvalidInput, match="one game") as refused:
            await persister.save_rolls(rolls)
    assert isinstance(refused.value, GameDBError)


async def test_a_write_that_needs_its_play_is_not_moved_after_a_later_play(db: Database) -> None:
    """A substitution after play 1, or dice for play 2, handed off before play 1: refused as
    the direct calls refuse them, though the group also holds play 1 (which a group writes
    before its substitutions and rolls)."""
    persisted, direct = await set_up_game(db), await set_up_game(db)
    substitution: dict[str, Any] = {
        "replacing_id": 0,
        "after_play": 1,
        "position": "PH",
        "player_id": 150,
    }
    dice: dict[str, Any] = {"roll_id": "r1", "roll_type": "ab", "play_number": 2}
    with pytest.raises(PlayNotFound):
        await db.add_substitution(
            game_id=direct.game_id,
            **{**substitution, "replacing_id": direct.away[0].id},
        )
    with pytest.raises(PlayNotFound):
        await db.save_rolls_batch([{**dice, "game_id": direct.game_id, "roll_data": {"d": 1}}])
    for write in ("substitution", "rolls"):
        game = await set_up_game(db) if write == "rolls" else persisted
        async with GamePersister(db) as persister:
            first: WriteHandle[Any]
            if write == "substitution":
                first = await persister.add_substitution(
                    game_id=game.game_id, **{**substitution, "replacing_id": game.away[0].id}
                )
            else:
                first = await persister.save_rolls(
                    [{**dice, "game_id": game.game_id, "roll_data": {"d": 1}}]
                )
            play = await persister.save_play(play_dict(game, 1))
            with pytest.raises(PlayNotFound):
                await first
            with pytest.raises(StreamStopped):
                await play
        assert await db.get_plays(game.game_id) == []
        assert await db.get_rolls_for_game(game.game_id) == []
        assert [entry.id for entry in await db.get_active_lineup(game.game_id, AWAY)][:1] == [
            game.away[0].id
        ]
