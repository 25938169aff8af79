"""Rollback: the building blocks count what they remove, ``rollback_to_play`` rewinds the
whole game to just after a play, all or nothing, and no concurrent writer can leave a play
after that point or a hole in the numbering."""

from __future__ import annotations

import asyncio
import copy
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from gamedb import (
    Database,
    GameDBError,
    GameNotFound,
    GameState,
    GameStatus,
    Half,
    InvalidInput,
    Lineup,
    PlayData,
    PlayNotFound,
    WrongLeague,
)
from tests.factories import play_dict, set_up_game
from tests.oracles import replay_state, stored_state
from tests.simulate import AWAY, HOME, SimulatedGame


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.connect(database_url, db_pool_size=2) as database:
        yield database


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to the test's database, for test-only triggers."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


class ScriptedGame:
    """A simulated game played to a given length, remembering its lineups after each play
    (before any substitution made after that play)."""

    def __init__(self, game: SimulatedGame) -> None:
        self.game = game
        self.active_after: list[list[Lineup]] = [game.expected_lineups()]

    @classmethod
    async def play(
        cls,
        db: Database,
        league: str,
        plays: int,
        substitute_after: dict[int, list[int]],
        seed: int = 5,
    ) -> ScriptedGame:
        """``substitute_after`` maps a play number to the slots replaced after it (0-8 the
        away batters, 9 the home pitcher)."""
        rng = random.Random(seed)
        scripted = cls(await SimulatedGame.start(db, league))
        game = scripted.game
        for _ in range(plays):
            for slot in substitute_after.get(game.last_play, []):
                team = HOME if slot == 9 else AWAY
                await game.substitute(db, rng, team_id=team, slot=slot)
            await game.save_rolls(db, rng, size=2)
            await game.play(db, rng)
            scripted.active_after.append(game.expected_lineups())
        return scripted


def rolled_plays(last: int) -> list[int]:
    """The play numbers of a scripted game's rolls up to play ``last``: the pre-game roll
    (0 here) and two rolls for every play."""
    return [0, *sorted([*range(1, last + 1)] * 2)]


def lineup_ids(entries: list[Lineup]) -> list[int]:
    return [entry.id for entry in entries]


async def lineup_rows(db: Database, game_id: uuid.UUID) -> dict[int, bool]:
    """Every lineup row of the game, active or not: id → is_active."""
    async with db.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, is_active FROM lineups WHERE game_id = $1", game_id)
    return {row["id"]: row["is_active"] for row in rows}


async def test_building_blocks_return_what_they_removed(db: Database) -> None:
    scripted = await ScriptedGame.play(db, "sba", 10, {3: [0], 6: [9], 8: [0]})
    game = scripted.game
    first_sub, pitcher_sub, second_sub = game.substitutions
    gid = game.game_id

    assert await db.delete_plays_after(gid, 5) == 5
    assert await db.delete_plays_after(gid, 5) == 0
    assert [p.play_number for p in await db.get_plays(gid)] == [1, 2, 3, 4, 5]

    assert await db.delete_rolls_after(gid, 5) == 10
    assert await db.delete_rolls_after(gid, 5) == 0
    kept = await db.get_rolls_for_game(gid)
    assert sorted((r.play_number or 0) for r in kept) == rolled_plays(5)

    assert await db.delete_substitutions_after(gid, 5) == 2
    assert await db.delete_substitutions_after(gid, 5) == 0
    rows = await lineup_rows(db, gid)
    assert pitcher_sub.id not in rows and second_sub.id not in rows
    assert rows[pitcher_sub.replacing_id or 0] is True, "the replaced pitcher is back"
    assert rows[first_sub.id] is True, "the earlier substitute is active again"
    assert rows[first_sub.replacing_id or 0] is False, "whom it replaced stays out"

    unknown = uuid.uuid4()
    assert await db.delete_plays_after(unknown, 0) == 0
    assert await db.delete_rolls_after(unknown, 0) == 0
    assert await db.delete_substitutions_after(unknown, 0) == 0


@pytest.mark.parametrize(
    ("after", "removed", "active"),
    [(5, 0, "C"), (4, 1, "B"), (3, 1, "B"), (2, 2, "A"), (0, 2, "A")],
)
async def test_a_chain_of_substitutions_unwinds_to_the_right_player(
    db: Database, after: int, removed: int, active: str
) -> None:
    """A is replaced by B after play 2, B by C after play 4: removing the substitutions made
    after play ``after`` or later leaves exactly one of them active."""
    scripted = await ScriptedGame.play(db, "pd", 6, {2: [9], 4: [9]})
    game = scripted.game
    b, c = game.substitutions
    a = b.replacing_id or 0
    assert c.replacing_id == b.id
    await db.delete_plays_after(game.game_id, after)

    assert await db.delete_substitutions_after(game.game_id, after) == removed

    rows = await lineup_rows(db, game.game_id)
    ids = {"A": a, "B": b.id, "C": c.id}
    assert {name for name, ident in ids.items() if rows.get(ident)} == {active}
    assert {name for name, ident in ids.items() if ident in rows} == {"A", "B", "C"} - (
        {"B", "C"} if removed == 2 else {"C"} if removed == 1 else set()
    )
    home = await db.get_active_lineup(game.game_id, HOME)
    assert [e.id for e in home if e.position == "P"] == [ids[active]]


@pytest.mark.parametrize("league", ["sba", "pd"])
async def test_rollback_to_play_rewinds_the_whole_game(db: Database, league: str) -> None:
    scripted = await ScriptedGame.play(db, league, 40, {0: [9], 5: [0], 15: [9], 30: [0, 9]})
    game = scripted.game
    gid = game.game_id
    subs_left = list(game.substitutions)
    last = 40
    version = game.state_version
    for target in (40, 33, 12, 4, 0):
        result = await db.rollback_to_play(gid, target)

        assert result.plays_removed == last - target
        assert result.rolls_removed == 2 * (last - target)
        gone = [s for s in subs_left if (s.after_play or 0) >= target]
        assert result.substitutions_removed == len(gone)
        subs_left = [s for s in subs_left if s not in gone]

        state = game.states[target - 1] if target else None
        expected = (
            (state.inning, state.half, state.outs, state.home_score, state.away_score)
            if state
            else (1, Half.TOP, 0, 0, 0)
        )
        stored = result.game
        assert (
            stored.current_inning,
            stored.current_half,
            stored.outs,
            stored.home_score,
            stored.away_score,
        ) == expected
        assert stored.state_version == version + 1, "every rollback bumps the version"
        version = stored.state_version

        snapshot = await db.load_game_state(gid, include_rolls=True)
        assert snapshot is not None
        assert snapshot.game == stored
        assert [p.play_number for p in snapshot.plays] == list(range(1, target + 1))
        assert lineup_ids(snapshot.active_lineups) == lineup_ids(scripted.active_after[target])
        assert snapshot.rolls is not None
        assert sorted(r.play_number or 0 for r in snapshot.rolls) == rolled_plays(target)
        last = target


async def completed_game(db: Database, plays: int) -> SimulatedGame:
    """A game of ``plays`` plays, then marked completed."""
    game = (await ScriptedGame.play(db, "sba", plays, {})).game
    final = game.state
    await db.update_game_state(
        game_id=game.game_id,
        inning=final.inning,
        half=final.half,
        outs=final.outs,
        home_score=final.home_score,
        away_score=final.away_score,
        status="completed",
    )
    return game


async def test_rollback_reopens_a_completed_game(db: Database) -> None:
    game = await completed_game(db, 12)
    result = await db.rollback_to_play(game.game_id, 9)
    assert result.game.status is GameStatus.ACTIVE
    assert result.game.completed_at is None


async def test_rollback_refuses_what_it_cannot_do_and_changes_nothing(db: Database) -> None:
    scripted = await ScriptedGame.play(db, "pd", 8, {3: [0]})
    gid = scripted.game.game_id
    before = await db.load_game_state(gid, include_rolls=True)

    unknown = uuid.uuid4()
    with pytest.raises(GameNotFound) as missing:
        await db.rollback_to_play(unknown, 0)
    assert missing.value.game_id == unknown

    with pytest.raises(PlayNotFound) as beyond:
        await db.rollback_to_play(gid, 9)
    assert (beyond.value.game_id, beyond.value.play_number, beyond.value.last_play) == (gid, 9, 8)

    not_play_numbers: list[Any] = [-1, True, 2.0, "3"]
    for bad in not_play_numbers:
        with pytest.raises(InvalidInput):
            await db.rollback_to_play(gid, bad)

    assert await db.load_game_state(gid, include_rolls=True) == before


# Each step of a rollback, and the trigger timing and table that make it fail.
FAILING_STEPS = {
    "deleting rolls": ("BEFORE DELETE", "rolls"),
    "reactivating a replaced player": ("BEFORE UPDATE", "lineups"),
    "restoring the game row": ("BEFORE UPDATE", "games"),
}


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
@pytest.mark.parametrize("step", list(FAILING_STEPS))
async def test_rollback_is_all_or_nothing(
    db: Database, admin: asyncpg.Connection, step: str
) -> None:
    scripted = await ScriptedGame.play(db, "sba", 15, {4: [9], 10: [0]})
    gid = scripted.game.game_id
    before = await db.load_game_state(gid, include_rolls=True)
    timing, table = FAILING_STEPS[step]
    await admin.execute(
        f"""
        CREATE FUNCTION fail_rollback_step() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'step refused for the test' USING ERRCODE = 'P0001';
        END $$;
        CREATE TRIGGER fail_rollback_step {timing} ON {table}
            FOR EACH ROW EXECUTE FUNCTION fail_rollback_step();
        """
    )
    with pytest.raises(GameDBError):
        await db.rollback_to_play(gid, 2)
    assert await db.load_game_state(gid, include_rolls=True) == before

    await admin.execute(f"DROP TRIGGER fail_rollback_step ON {table}")
    result = await db.rollback_to_play(gid, 2)
    assert (result.plays_removed, result.substitutions_removed, result.rolls_removed) == (13, 2, 26)


@pytest.mark.single_server(
    "injects failures with a trigger; Citus refuses triggers on distributed tables"
)
async def test_a_rollback_retried_after_a_transient_failure_counts_once(
    db: Database, admin: asyncpg.Connection
) -> None:
    """The first attempt fails with a serialization failure after deleting plays; the retry
    redoes the whole transaction and reports what it removed, once."""
    scripted = await ScriptedGame.play(db, "pd", 10, {5: [0]})
    gid = scripted.game.game_id
    await admin.execute(
        """
        CREATE SEQUENCE rollback_attempts;
        CREATE FUNCTION fail_first_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('rollback_attempts') = 1 THEN
                RAISE EXCEPTION 'first attempt fails' USING ERRCODE = '40001';
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER fail_first_attempt AFTER DELETE ON rolls
            FOR EACH STATEMENT EXECUTE FUNCTION fail_first_attempt();
        """
    )
    result = await db.rollback_to_play(gid, 3)
    assert (result.plays_removed, result.substitutions_removed, result.rolls_removed) == (7, 1, 14)
    assert await admin.fetchval("SELECT last_value FROM rollback_attempts") == 2
    snapshot = await db.load_game_state(gid)
    assert snapshot is not None and len(snapshot.plays) == 3


async def write_plays(db: Database, writer: str, script: list[tuple[PlayData, GameState]]) -> None:
    for play, state in script:
        if writer == "save_play":
            await db.save_play(play)
        else:
            await db.record_play(play, state)


async def rewind_after(db: Database, game_id: uuid.UUID, target: int, delay: float) -> None:
    await asyncio.sleep(delay)
    await db.rollback_to_play(game_id, target)


@pytest.mark.parametrize("writer", ["save_play", "record_play"])
async def test_a_concurrent_writer_never_leaves_a_play_after_the_rollback_point(
    db: Database, writer: str
) -> None:
    """Round after round, a writer appends plays while ``rollback_to_play(n)`` runs on the
    same game: afterwards the game holds exactly plays 1..n and the state after play n,
    whichever got there first."""
    rng = random.Random(f"race-{writer}")
    game = await SimulatedGame.start(db, "sba")
    kept = [copy.deepcopy(game)]
    outcomes = {"written": 0, "refused": 0}  # rounds whose writer finished, or was refused
    for _ in range(60):
        length = max(3, game.last_play + rng.randint(1, 4))
        while game.last_play < length:
            await game.play(db, rng)
            kept.append(copy.deepcopy(game))
        target = rng.randint(max(0, game.last_play - 6), game.last_play - 1)
        ahead = copy.deepcopy(game)
        script = []
        for _ in range(3):
            play, state, bases = ahead.next_play(rng)
            ahead.advance(play, state, bases)
            script.append((play, state))

        writing, rewinding = await asyncio.gather(
            write_plays(db, writer, script),
            rewind_after(db, game.game_id, target, rng.choice([0, 0.0005, 0.001, 0.002])),
            return_exceptions=True,
        )
        if isinstance(writing, PlayNotFound):
            outcomes["refused"] += 1
        elif isinstance(writing, BaseException):
            raise writing
        else:
            outcomes["written"] += 1
        if isinstance(rewinding, BaseException):
            raise rewinding

        snapshot = await db.load_game_state(game.game_id)
        assert snapshot is not None
        assert [p.play_number for p in snapshot.plays] == list(range(1, target + 1))
        state = replay_state(snapshot.plays)
        assert stored_state(snapshot.game) == state
        del kept[target + 1 :]
        game = copy.deepcopy(kept[target])
        game.state_version = snapshot.game.state_version
    assert outcomes["refused"] > 0, outcomes


async def test_rolls_and_substitutions_in_flight_do_not_survive_a_rollback(db: Database) -> None:
    game = await set_up_game(db)
    for number in range(1, 7):
        await db.save_play(play_dict(game, number))
    async with db.transaction() as tx:
        await tx.save_rolls_batch(
            [
                {
                    "game_id": game.game_id,
                    "roll_id": "late",
                    "roll_type": "ab",
                    "play_number": 6,
                    "roll_data": {"dice": {"d20": 4}},
                }
            ]
        )
        await tx.add_substitution(
            game_id=game.game_id,
            replacing_id=game.home_pitcher.id,
            after_play=5,
            position="P",
            player_id=9999,
        )
        rollback = asyncio.create_task(db.rollback_to_play(game.game_id, 3))
        await asyncio.sleep(0.3)
        # Their foreign keys share-lock the game row, which the rollback locks first.
        assert not rollback.done(), "the rollback waits for the game's writes in flight"
    result = await rollback
    assert (result.rolls_removed, result.substitutions_removed, result.plays_removed) == (1, 1, 3)
    active = {entry.id for entry in await db.get_active_lineup(game.game_id, 1)}
    assert game.home_pitcher.id in active


async def test_a_completed_game_rolled_back_to_its_last_play_stays_completed(
    db: Database,
) -> None:
    game = await completed_game(db, 12)
    completed = await db.get_game(game.game_id)
    assert completed is not None and completed.completed_at is not None
    result = await db.rollback_to_play(game.game_id, 12)
    assert result.plays_removed == 0
    assert result.game.status is GameStatus.COMPLETED
    assert result.game.completed_at == completed.completed_at
    assert result.game.state_version == completed.state_version + 1


async def test_rolling_back_to_a_play_ending_inning_1000_is_a_typed_refusal(db: Database) -> None:
    game = await set_up_game(db)
    last_out = play_dict(game, 1, inning=1000, half="bottom", outs_before=2, outs_recorded=1)
    await db.save_play(last_out)
    await db.save_play(play_dict(game, 2, inning=1000, half="bottom", outs_before=0))
    before = await db.load_game_state(game.game_id)
    with pytest.raises(InvalidInput, match="inning") as refused:
        await db.rollback_to_play(game.game_id, 1)
    assert refused.value.game_id == game.game_id
    assert await db.load_game_state(game.game_id) == before


async def test_writes_for_plays_not_stored_are_refused(db: Database) -> None:
    """A roll belongs to a stored play or the next one; a substitution follows a stored
    play: what a rollback removed cannot come back through them."""
    game = await set_up_game(db)
    for number in range(1, 4):
        await db.save_play(play_dict(game, number))

    def roll(roll_id: str, play_number: int | None) -> dict[str, Any]:
        return {
            "game_id": game.game_id,
            "roll_id": roll_id,
            "roll_type": "ab",
            "play_number": play_number,
            "roll_data": {"dice": {"d20": 4}},
        }

    assert await db.save_rolls_batch([roll("a", 4), roll("b", 1), roll("c", None)]) == 3
    with pytest.raises(PlayNotFound) as missing:
        await db.save_rolls_batch([roll("d", 2), roll("e", 6)])
    assert (missing.value.game_id, missing.value.play_number, missing.value.last_play) == (
        game.game_id,
        5,
        3,
    )
    with pytest.raises(PlayNotFound) as too_early:
        await db.add_substitution(
            game_id=game.game_id,
            replacing_id=game.home_pitcher.id,
            after_play=4,
            position="P",
            player_id=1999,
        )
    assert (too_early.value.play_number, too_early.value.last_play) == (4, 3)
    assert sorted(r.roll_id for r in await db.get_rolls_for_game(game.game_id)) == ["a", "b", "c"]
    assert game.home_pitcher.id in {e.id for e in await db.get_active_lineup(game.game_id, 1)}
    sub = await db.add_substitution(
        game_id=game.game_id,
        replacing_id=game.home_pitcher.id,
        after_play=3,
        position="P",
        player_id=1999,
    )
    assert sub.after_play == 3


async def test_a_card_or_player_of_the_other_league_is_wrong_league(db: Database) -> None:
    for league, other in (("pd", {"player_id": 1999}), ("sba", {"card_id": 1999})):
        game = await set_up_game(db, league)
        with pytest.raises(WrongLeague) as wrong:
            await db.add_substitution(
                game_id=game.game_id,
                replacing_id=game.home_pitcher.id,
                after_play=0,
                position="P",
                **other,
            )
        assert (wrong.value.game_id, wrong.value.actual) == (game.game_id, league)
        active = await db.get_active_lineup(game.game_id, 1)
        assert game.home_pitcher.id in {entry.id for entry in active}, "nothing was written"
