"""The persister and the direct operations are one write path: the same random sequences of
every write kind, handed to a :class:`GamePersister` on one database and called one by one
on another, leave the same games behind and meet the same typed errors.

A sequence is cut into chunks the persister takes back to back (so they share groups and
transactions); at the end of a chunk every handle is awaited. The direct side plays the
persister's one documented difference: after a write of a game fails, the game's later
writes of the chunk are not written (``StreamStopped``) until the engine resumes it.
``delete_*_after`` are not persister calls: both sides call them directly, the persister's
side after flushing the game.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamedb import (
    Database,
    GameDBError,
    GamePersister,
    InvalidInput,
    Lineup,
    PlayNotFound,
    RollbackResult,
    StreamStopped,
)

FULL = os.environ.get("GAMEDB_FULL_FAULTS") == "1"
HOME, AWAY = 1, 2
# The lineup every game starts with: (team, player, position, batting order).
STARTERS = ((HOME, 201, "P", None), (AWAY, 101, "CF", 1), (AWAY, 102, "SS", 2), (AWAY, 103, "C", 3))
PLAYS = 6


@dataclasses.dataclass(frozen=True)
class Op:
    """One write: ``kind`` and its arguments, with lineup entries named by their index in
    :data:`STARTERS` (each database numbers them its own way)."""

    kind: str
    ghost: bool
    as_text: bool
    args: tuple[tuple[str, Any], ...]

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]

    @property
    def invalid(self) -> bool:
        """Refused before it reaches the database, by the persister at hand-off."""
        if self.kind == "play":
            return bool(self.arg("bad") == "outs")
        if self.kind == "state":
            return bool(self.arg("inning") == 0)
        if self.kind == "substitution":
            return type(self.arg("player")) is not int
        return False


def op(kind: str, **args: Any) -> st.SearchStrategy[Op]:
    return st.builds(
        Op,
        kind=st.just(kind),
        ghost=st.sampled_from([False] * 9 + [True]),
        as_text=st.booleans(),
        args=st.fixed_dictionaries(args).map(lambda drawn: tuple(sorted(drawn.items()))),
    )


numbers = st.integers(1, PLAYS)
OPS = st.one_of(
    op(
        "play",
        number=numbers,
        take=st.integers(0, 1),
        bad=st.sampled_from([None] * 8 + ["fk", "outs"]),
    ),
    op(
        "state",
        inning=st.sampled_from([1, 2, 0]),
        half=st.sampled_from(["top", "bottom"]),
        home=st.integers(0, 2),
        away=st.integers(0, 2),
        outs=st.sampled_from([None, 0, 1, 2]),
        status=st.sampled_from([None, None, "active", "completed"]),
    ),
    op(
        "rolls",
        rolls=st.lists(
            st.tuples(
                st.sampled_from(["r1", "r2", "r3"]),
                st.integers(0, 1),
                st.sampled_from([None, 2, 4]),
            ),
            min_size=0,
            max_size=3,
        ),
    ),
    op(
        "substitution",
        replacing=st.integers(0, 3),
        player=st.sampled_from([150, 151, 101, True, "77", 78.0]),
        after=st.integers(0, PLAYS),
        position=st.sampled_from(["PH", "PR"]),
    ),
    op("snapshot", value=st.integers(0, 3)),
    op("rollback", number=st.integers(0, PLAYS)),
    op(
        "delete",
        what=st.sampled_from(["plays", "rolls", "substitutions"]),
        number=st.integers(0, PLAYS),
    ),
)
SEQUENCES = st.lists(st.tuples(OPS, st.sampled_from([False, False, True])), min_size=1, max_size=10)


class Side:
    """One database with one copy of the example's games."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.entries: dict[uuid.UUID, list[int]] = {}

    async def create(self, gid: uuid.UUID) -> None:
        async with self.db.transaction() as tx:
            await tx.create_game(game_id=gid, league_id="sba", home_team_id=HOME, away_team_id=AWAY)
            self.entries[gid] = [
                (
                    await tx.add_sba_lineup_player(
                        game_id=gid,
                        team_id=team,
                        player_id=player,
                        position=position,
                        batting_order=order,
                    )
                ).id
                for team, player, position, order in STARTERS
            ]

    def game_of(self, o: Op, gid: uuid.UUID, ghost: uuid.UUID) -> uuid.UUID:
        return ghost if o.ghost else gid

    def call(
        self, target: Any, o: Op, gid: uuid.UUID, ghost: uuid.UUID
    ) -> tuple[str, Coroutine[Any, Any, Any]]:
        """The call ``o`` makes on ``target`` (a Database or a GamePersister)."""
        game = self.game_of(o, gid, ghost)
        shown: Any = str(game) if o.as_text else game
        entries = self.entries[gid]
        if o.kind == "play":
            number = o.arg("number")
            play = {
                "game_id": shown,
                "play_number": number,
                "inning": 1,
                "half": "top",
                "outs_before": 3 if o.arg("bad") == "outs" else 0,
                "batter_id": 10**9 if o.arg("bad") == "fk" else entries[1 + number % 3],
                "pitcher_id": entries[0],
                "away_score": 0,
                "home_score": o.arg("take"),
                "result_description": f"take {o.arg('take')}",
            }
            return "play", target.save_play(play)
        if o.kind == "state":
            return "state", target.update_game_state(
                game_id=shown,
                inning=o.arg("inning"),
                half=o.arg("half"),
                home_score=o.arg("home"),
                away_score=o.arg("away"),
                outs=o.arg("outs"),
                status=o.arg("status"),
            )
        if o.kind == "rolls":
            rolls = [
                {
                    "game_id": shown,
                    "roll_id": roll_id,
                    "roll_type": "at_bat",
                    "play_number": play_number,
                    "roll_data": {"dice": {"d20": 7 + variant}},
                }
                for roll_id, variant, play_number in o.arg("rolls")
            ]
            save = (
                target.save_rolls if isinstance(target, GamePersister) else target.save_rolls_batch
            )
            return "rolls", save(rolls)
        if o.kind == "substitution":
            return "substitution", target.add_substitution(
                game_id=shown,
                replacing_id=entries[o.arg("replacing")],
                after_play=o.arg("after"),
                position=o.arg("position"),
                player_id=o.arg("player"),
            )
        if o.kind == "snapshot":
            return "snapshot", target.update_session_snapshot(shown, {"value": o.arg("value")})
        assert o.kind == "rollback"
        return "rollback", target.rollback_to_play(shown, o.arg("number"))

    async def delete(self, o: Op, gid: uuid.UUID, ghost: uuid.UUID) -> Any:
        game = self.game_of(o, gid, ghost)
        shown: Any = str(game) if o.as_text else game
        delete = getattr(self.db, f"delete_{o.arg('what')}_after")
        return await delete(shown, o.arg("number"))

    async def stored(self, gid: uuid.UUID) -> dict[str, Any]:
        """The game as stored, with every database-chosen number (ids, versions, times)
        replaced by what it stands for."""
        pool = self.db.pool
        lineups = [
            Lineup(**dict(row))
            for row in await pool.fetch("SELECT * FROM lineups WHERE game_id = $1", gid)
        ]
        who = {entry.id: (entry.team_id, entry.player_id) for entry in lineups}
        game = await self.db.get_game(gid)
        assert game is not None
        session = await self.db.get_game_session(gid)
        return {
            "game": game.model_dump(
                exclude={"state_version", "created_at", "updated_at", "completed_at"}
            )
            | {"completed": game.completed_at is not None},
            "lineups": sorted(
                (
                    entry.team_id,
                    entry.player_id,
                    entry.position,
                    entry.batting_order,
                    entry.is_starter,
                    entry.is_active,
                    who.get(entry.replacing_id) if entry.replacing_id else None,
                    entry.after_play,
                )
                for entry in lineups
            ),
            "plays": [
                play.model_dump(exclude={"id", "created_at", "batter_id", "pitcher_id"})
                | {"batter": who[play.batter_id], "pitcher": who[play.pitcher_id]}
                for play in await self.db.get_plays(gid)
            ],
            "rolls": sorted(
                (roll.roll_id, roll.roll_type, roll.play_number, roll.roll_data.model_dump_json())
                for roll in await self.db.get_rolls_for_game(gid)
            ),
            "session": None if session is None else session.state_snapshot,
        }


def outcome(kind: str, result: Any, error: BaseException | None) -> tuple[Any, ...]:
    """What a write came to, in terms both paths share."""
    if error is not None:
        assert isinstance(error, GameDBError), repr(error)
        detail: Any = getattr(error, "constraint", None)
        if isinstance(error, PlayNotFound):
            detail = (error.play_number, error.last_play)
        return ("refused", type(error).__name__, detail)
    if kind == "play":
        return ("stored", isinstance(result, int))
    if kind == "substitution":
        assert isinstance(result, Lineup)
        return ("stored", result.team_id, result.player_id, result.position, result.after_play)
    if kind == "rollback":
        assert isinstance(result, RollbackResult)
        return ("stored", result.plays_removed, result.substitutions_removed, result.rolls_removed)
    return ("stored",)


async def attempt(awaitable: Awaitable[Any]) -> tuple[Any, BaseException | None]:
    try:
        return await awaitable, None
    except GameDBError as exc:
        return None, exc


async def run_persisted(
    side: Side, sequence: list[tuple[Op, bool]], gid: uuid.UUID, ghost: uuid.UUID
) -> list[tuple[Any, ...]]:
    outcomes: list[tuple[Any, ...]] = []
    async with GamePersister(side.db) as persister:
        pending: list[tuple[str, Any]] = []

        async def settle() -> None:
            for kind, handle in pending:
                if isinstance(handle, BaseException):
                    outcomes.append(outcome(kind, None, handle))
                else:
                    outcomes.append(outcome(kind, *await attempt(handle)))
            pending.clear()
            for game in (gid, ghost):
                persister.resume(game)

        for o, chunk_ends in sequence:
            if o.kind == "delete":
                await persister.flush()
                await settle()
                outcomes.append(outcome("delete", *await attempt(side.delete(o, gid, ghost))))
                continue
            kind, call = side.call(persister, o, gid, ghost)
            handed, error = await attempt(call)
            pending.append((kind, handed if error is None else error))
            if chunk_ends:
                await persister.flush()
                await settle()
        await persister.flush()
        await settle()
    return outcomes


async def run_direct(
    side: Side, sequence: list[tuple[Op, bool]], gid: uuid.UUID, ghost: uuid.UUID
) -> list[tuple[Any, ...]]:
    outcomes: list[tuple[Any, ...]] = []
    stopped: dict[uuid.UUID, GameDBError] = {}
    for o, chunk_ends in sequence:
        if o.kind == "delete":
            stopped.clear()
            outcomes.append(outcome("delete", *await attempt(side.delete(o, gid, ghost))))
            continue
        game = side.game_of(o, gid, ghost)
        kind, call = side.call(side.db, o, gid, ghost)
        # An empty roll batch belongs to no game: nothing to stop, nothing to write.
        empty = o.kind == "rolls" and not o.arg("rolls")
        if game in stopped and not o.invalid and not empty:
            call.close()
            outcomes.append(outcome(kind, None, StreamStopped(game, stopped[game])))
        else:
            result, error = await attempt(call)
            outcomes.append(outcome(kind, result, error))
            if isinstance(error, GameDBError) and not isinstance(error, InvalidInput):
                stopped.setdefault(game, error)
        if chunk_ends:
            stopped.clear()
    return outcomes


@pytest.fixture
async def twins(
    database_url: str, other_database_url: str
) -> AsyncIterator[tuple[Database, Database]]:
    """Two databases of the same schema: one for the persister, one for the direct calls."""
    persisted = await Database.connect(database_url, db_pool_size=2)
    direct = await Database.connect(other_database_url, db_pool_size=2)
    try:
        yield persisted, direct
    finally:
        await persisted.close()
        await direct.close()


@pytest.mark.slow
@settings(
    max_examples=1500 if FULL else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=SEQUENCES)
async def test_the_persister_and_the_direct_calls_are_one_write_path(
    twins: tuple[Database, Database], sequence: list[tuple[Op, bool]]
) -> None:
    # Fresh games in the same two databases for every example, so examples stay cheap.
    gid, ghost = uuid.uuid4(), uuid.uuid4()
    persisted, direct = Side(twins[0]), Side(twins[1])
    await persisted.create(gid)
    await direct.create(gid)
    assert await run_persisted(persisted, sequence, gid, ghost) == await run_direct(
        direct, sequence, gid, ghost
    )
    assert await persisted.stored(gid) == await direct.stored(gid)
