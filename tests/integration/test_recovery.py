"""Recovery: ``load_game_state`` gives back exactly what was written, from one point in
time, in at most two round trips."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from gamedb import Database, GameSnapshot, GameStatus, Half
from tests.oracles import stored_state
from tests.proxy import FaultProxy
from tests.simulate import AWAY, HOME, SimulatedGame, lineup_ids_named

LEAGUES = ["sba", "pd"]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.connect(database_url, db_pool_size=2) as database:
        yield database


async def play_long_game(db: Database, league: str, plays: int = 300) -> SimulatedGame:
    """A game of ``plays`` plays with pinch hitters, pitching changes (one a chain of
    three pitchers), dice rolls for every play and a session snapshot now and then."""
    rng = random.Random(f"{league}-{plays}")
    game = await SimulatedGame.start(db, league)
    pending_rolls = []
    for _ in range(plays):
        number = game.last_play
        if number in (60, 180):
            await game.substitute(db, rng, team_id=HOME, slot=9)
        if number in (61, 240):
            await game.substitute(db, rng, team_id=AWAY, slot=9)
        if number % 45 == 44:
            await game.substitute(db, rng)
        pending_rolls.extend(game.roll_batch(rng, 1 + number % 3))
        await game.play(db, rng)
        if number % 10 == 9:
            await db.save_rolls_batch(pending_rolls)
            game.rolls.extend(pending_rolls)
            pending_rolls = []
        if number % 50 == 49:
            await game.update_session(db)
    await db.save_rolls_batch(pending_rolls)
    game.rolls.extend(pending_rolls)
    return game


def assert_snapshot_matches(snapshot: GameSnapshot, game: SimulatedGame) -> None:
    """``snapshot`` holds exactly what the simulation wrote."""
    stored = snapshot.game
    assert stored.id == game.game_id
    assert str(stored.league_id) == game.league
    assert (stored.home_team_id, stored.away_team_id) == (HOME, AWAY)
    assert stored_state(stored) == game.state
    assert stored.state_version == game.state_version
    assert stored.status is (GameStatus.ACTIVE if game.plays else GameStatus.PENDING)

    assert snapshot.active_lineups == game.expected_lineups()
    assert len(snapshot.lineups) == len(snapshot.active_lineups) + len(game.substitutions)

    assert [play.play_number for play in snapshot.plays] == list(range(1, game.last_play + 1))
    assert [play.id for play in snapshot.plays] == game.play_ids
    for written, recovered in zip(game.plays, snapshot.plays, strict=True):
        assert written.matches(recovered), f"play {written.play_number} differs"

    member = "card_id" if game.league == "pd" else "player_id"
    assert [(link.team_id, link.id, getattr(link, member)) for link in snapshot.roster] == sorted(
        (link.team_id, link.id, getattr(link, member)) for link in game.roster
    )
    assert all(str(link.league_id) == game.league for link in snapshot.roster)

    assert snapshot.session == game.session

    if snapshot.rolls is not None:
        assert len(snapshot.rolls) == len(game.rolls)
        for written_roll, recovered_roll in zip(game.rolls, snapshot.rolls, strict=True):
            kept = recovered_roll.model_dump(exclude={"ordinal"})
            assert written_roll.model_dump() == kept, written_roll.roll_id


@pytest.mark.parametrize("league", LEAGUES)
async def test_a_300_play_game_recovers_completely_and_exactly(db: Database, league: str) -> None:
    game = await play_long_game(db, league)
    assert len(game.substitutions) >= 8 and len(game.rolls) > 500

    snapshot = await db.load_game_state(game.game_id)
    assert snapshot is not None
    assert snapshot.rolls is None, "rolls only when asked for"
    assert_snapshot_matches(snapshot, game)

    with_rolls = await db.load_game_state(game.game_id, include_rolls=True)
    assert with_rolls is not None
    assert_snapshot_matches(with_rolls, game)
    assert with_rolls.model_copy(update={"rolls": None}) == snapshot

    # The one-statement path gives the same models as the validated single-table reads.
    assert snapshot.game == await db.get_game(game.game_id)
    assert snapshot.plays == await db.get_plays(game.game_id)
    assert snapshot.active_lineups == [
        *await db.get_active_lineup(game.game_id, HOME),
        *await db.get_active_lineup(game.game_id, AWAY),
    ]
    assert snapshot.session == await db.get_game_session(game.game_id)
    assert with_rolls.rolls == await db.get_rolls_for_game(game.game_id)


@pytest.mark.parametrize("league", LEAGUES)
async def test_a_recovered_game_holds_every_lineup_entry_its_plays_name(
    db: Database, league: str
) -> None:
    game = await play_long_game(db, league, plays=120)
    assert len(game.substitutions) >= 3
    snapshot = await db.load_game_state(game.game_id)
    assert snapshot is not None
    entries = {entry.id: entry for entry in snapshot.lineups}
    named = lineup_ids_named(snapshot.plays)
    assert named <= entries.keys(), "every lineup entry a play names is in the snapshot"
    replaced = {entry.replacing_id for entry in snapshot.lineups if entry.replacing_id}
    assert replaced and all(not entries[i].is_active for i in replaced)
    assert named & replaced, "some plays name entries replaced since"
    async with db.pool.acquire() as conn:
        stored_ids = await conn.fetch(
            "SELECT id FROM lineups WHERE game_id = $1 ORDER BY id", game.game_id
        )
    assert sorted(entries) == [row["id"] for row in stored_ids]


async def test_recovered_rolls_are_the_models_the_roll_reader_validates(db: Database) -> None:
    """Recovery builds the rolls from the stored JSON without validating them again: every
    shape a roll may take comes back as the validated reader gives it."""
    gid = uuid.uuid4()
    await db.create_game(game_id=gid, league_id="sba", home_team_id=3, away_team_id=4)
    await db.save_rolls_batch(
        [
            {"game_id": gid, "roll_id": "bare", "roll_type": "ab", "roll_data": {}},
            {
                "game_id": gid,
                "roll_id": "full",
                "roll_type": "ab",
                "team_id": 3,
                "player_id": 9,
                "roll_data": {
                    "dice": {"d20": 20, "d6": 1},
                    "total": 21,
                    "result": "single ☃",
                    "nested": {"list": [1, 2.5, None, True, {"deep": "x"}]},
                    "big": 2**63 - 1,
                },
                "context": {"count": "3-2", "on": [1, 3]},
            },
            {
                "game_id": gid,
                "roll_id": "listed",
                "roll_type": "jump",
                "roll_data": {"dice": {"d20": 1}},
                "context": ["a", 1],
            },
        ]
    )
    snapshot = await db.load_game_state(gid, include_rolls=True)
    assert snapshot is not None and snapshot.rolls is not None
    validated = await db.get_rolls_for_game(gid)
    assert snapshot.rolls == validated
    assert [roll.roll_data.model_dump() for roll in snapshot.rolls] == [
        roll.roll_data.model_dump() for roll in validated
    ]
    assert [roll.rolled_at for roll in snapshot.rolls] == [roll.rolled_at for roll in validated]
    assert all(roll.rolled_at.utcoffset() is not None for roll in snapshot.rolls)


async def test_an_unknown_game_recovers_as_none(db: Database) -> None:
    assert await db.load_game_state(uuid.uuid4()) is None
    assert await db.load_game_state(uuid.uuid4(), include_rolls=True) is None


@pytest.mark.parametrize("league", LEAGUES)
async def test_a_game_without_plays_recovers(db: Database, league: str) -> None:
    game = await SimulatedGame.start(db, league)
    snapshot = await db.load_game_state(game.game_id, include_rolls=True)
    assert snapshot is not None
    assert snapshot.plays == []
    assert (snapshot.game.current_inning, snapshot.game.current_half, snapshot.game.outs) == (
        1,
        Half.TOP,
        0,
    )
    assert len(snapshot.lineups) == 20 and len(snapshot.roster) == 32
    assert snapshot.rolls is not None and [r.roll_id for r in snapshot.rolls] == ["pregame-coin"]
    assert_snapshot_matches(snapshot, game)


async def test_a_bare_game_recovers_with_empty_parts(db: Database) -> None:
    gid = uuid.uuid4()
    game = await db.create_game(game_id=gid, league_id="sba", home_team_id=3, away_team_id=4)
    snapshot = await db.load_game_state(gid, include_rolls=True)
    assert snapshot == GameSnapshot(
        game=game, lineups=[], plays=[], roster=[], session=None, rolls=[]
    )


async def test_snapshot_survives_a_json_round_trip(db: Database) -> None:
    game = await play_long_game(db, "pd", plays=80)
    snapshot = await db.load_game_state(game.game_id, include_rolls=True)
    assert snapshot is not None and snapshot.session is not None and snapshot.rolls
    assert GameSnapshot.model_validate_json(snapshot.model_dump_json()) == snapshot
    bare = await db.load_game_state(game.game_id)
    assert bare is not None
    assert GameSnapshot.model_validate_json(bare.model_dump_json()) == bare


async def test_a_snapshot_is_from_one_point_in_time(db: Database) -> None:
    """While a writer records plays (each with its state and the next play's rolls), every
    snapshot shows a game row whose version and state match its plays exactly."""
    rng = random.Random(11)
    game = await SimulatedGame.start(db, "sba")
    first_version = game.state_version
    script = []
    for _ in range(150):
        rolls = game.roll_batch(rng, 2)
        game.rolls.extend(rolls)
        play, state, bases = game.next_play(rng)
        game.advance(play, state, bases)
        script.append((rolls, play, state))
    writing = True

    async def writer() -> None:
        nonlocal writing
        try:
            for rolls, play, state in script:
                await db.save_rolls_batch(rolls)
                await db.record_play(play, state)
        finally:
            writing = False

    async def reader() -> list[GameSnapshot]:
        seen = []
        while writing:
            snapshot = await db.load_game_state(game.game_id, include_rolls=True)
            assert snapshot is not None
            seen.append(snapshot)
        return seen

    _, snapshots = await asyncio.gather(writer(), reader())
    for snapshot in snapshots:
        count = len(snapshot.plays)
        assert [play.play_number for play in snapshot.plays] == list(range(1, count + 1))
        assert snapshot.game.state_version == first_version + count
        if count:
            after = game.states[count - 1]
            assert stored_state(snapshot.game) == after
        assert snapshot.rolls is not None
        rolled_for = {roll.play_number for roll in snapshot.rolls}
        assert set(range(1, count + 1)) <= rolled_for, "rolls saved before a play are in it"
    in_between = {len(s.plays) for s in snapshots} - {0, len(script)}
    assert len(in_between) >= 5, f"the reader saw too few states in between: {in_between}"


@pytest.mark.parametrize("include_rolls", [False, True])
async def test_recovering_300_plays_takes_at_most_two_round_trips(
    database_url: str, include_rolls: bool
) -> None:
    async with (
        FaultProxy(database_url) as proxy,
        await Database.connect(proxy.route(database_url), db_pool_size=1, db_max_overflow=0) as db,
    ):
        game = await play_long_game(db, "pd")
        counts = []
        for _ in range(3):
            before = proxy.stats.round_trips
            snapshot = await db.load_game_state(game.game_id, include_rolls=include_rolls)
            counts.append(proxy.stats.round_trips - before)
            assert snapshot is not None and len(snapshot.plays) == 300
    # The first call also prepares the statement on this connection.
    assert counts[0] <= 2 and counts[1:] == [1, 1], counts
