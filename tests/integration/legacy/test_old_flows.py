"""The old layer's documented flows and the engine's call sites, written exactly as the old
code writes them; only the import changed (``from gamedb import DatabaseOperations``).

Each test points ``DATABASE_URL`` at its own database, as the engine's ``.env`` does, and
builds ``DatabaseOperations()`` synchronously with no arguments.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import gamedb
from gamedb import Database, DatabaseOperations, GameNotFound, InvalidInput, compat
from gamedb.compat import UnknownGame
from gamedb.operations import Operations

FIELDERS = ["CF", "SS", "1B", "LF", "3B", "RF", "C", "2B", "DH"]
HOME, AWAY = 10, 20


@pytest.fixture
async def old_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``DATABASE_URL`` set as the engine's ``.env`` sets it (the SQLAlchemy spelling)."""
    monkeypatch.setenv(
        "DATABASE_URL", database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    monkeypatch.setenv("DB_POOL_SIZE", "2")
    return database_url


@pytest.fixture
async def db_ops(old_env: str) -> AsyncIterator[Any]:
    ops = DatabaseOperations()
    yield ops
    await ops.close()


# ---- the engine's own objects, as the old layer received them ------------------------------


class RollType(enum.Enum):
    AB = "ab"
    JUMP = "jump"
    FIELDING = "fielding"


@dataclasses.dataclass
class AbRoll:
    """The engine's at-bat dice roll: read by attribute; the old layer stored
    ``roll_type.value`` and ``to_dict()``."""

    roll_id: str
    game_id: uuid.UUID
    roll_type: RollType
    d6_one: int
    d6_two_a: int
    d6_two_b: int
    chaos_d20: int
    team_id: int | None = None
    player_id: int | None = None
    play_number: int | None = None
    context: dict[str, Any] | None = None
    timestamp: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "roll_id": self.roll_id,
            "roll_type": self.roll_type.value,
            "d6_one": self.d6_one,
            "d6_two_a": self.d6_two_a,
            "d6_two_b": self.d6_two_b,
            "chaos_d20": self.chaos_d20,
            "timestamp": self.timestamp.isoformat(),
        }


@dataclasses.dataclass
class GameState:
    game_id: uuid.UUID
    league_id: str
    home_team_id: int
    away_team_id: int
    inning: int = 1
    half: str = "top"
    outs: int = 0
    home_score: int = 0
    away_score: int = 0
    play_count: int = 0


class StateManager:
    """The engine's state manager: builds its DatabaseOperations once, synchronously."""

    def __init__(self) -> None:
        self._states: dict[uuid.UUID, GameState] = {}
        self.db_ops = DatabaseOperations()

    async def recover_game(self, game_id: uuid.UUID) -> GameState | None:
        game_data = await self.db_ops.load_game_state(game_id)
        if not game_data:
            return None
        game = game_data["game"]
        state = GameState(
            game_id=game_id,
            league_id=game["league_id"],
            home_team_id=game["home_team_id"],
            away_team_id=game["away_team_id"],
            inning=game["current_inning"],
            half=game["current_half"],
            home_score=game["home_score"],
            away_score=game["away_score"],
            play_count=len(game_data["plays"]),
        )
        self._states[game_id] = state
        return state


class GameEngine:
    """The engine's play loop: save_play, then update_game_state positionally."""

    def __init__(self, state_manager: StateManager) -> None:
        self.state_manager = state_manager
        self.db_ops = state_manager.db_ops

    async def _save_play_to_db(
        self, state: GameState, batter_id: int, pitcher_id: int, outs: int, runs: int
    ) -> None:
        play_data = {
            "game_id": state.game_id,
            "play_number": state.play_count + 1,
            "inning": state.inning,
            "half": state.half,
            "outs_before": state.outs,
            "outs_recorded": outs,
            "batter_id": batter_id,
            "pitcher_id": pitcher_id,
            "result_description": "ground out" if outs else ("home run" if runs else "single"),
            "pa": 1,
            "ab": 1,
            "hit": 0 if outs else 1,
            "homerun": 1 if runs else 0,
            "rbi": runs,
            "run": runs,
            "complete": True,
        }
        await self.db_ops.save_play(play_data)
        state.play_count += 1
        state.outs += outs
        if state.half == "top":
            state.away_score += runs
        else:
            state.home_score += runs
        if state.outs >= 3:
            state.outs = 0
            if state.half == "top":
                state.half = "bottom"
            else:
                state.half, state.inning = "top", state.inning + 1
        await self.db_ops.update_game_state(
            state.game_id, state.inning, state.half, state.home_score, state.away_score
        )


# ---- the documented flows -------------------------------------------------------------------


async def create_complete_game(db_ops: Any, league: str = "sba") -> dict[str, Any]:
    """The old documentation's "create a complete game": the game, both lineups in batting
    order with a pitcher, both rosters, and the session."""
    game_id = uuid.uuid4()
    await db_ops.create_game(game_id, league, HOME, AWAY, "friendly", "public")
    lineups: dict[int, list[Any]] = {HOME: [], AWAY: []}
    rosters: dict[int, list[Any]] = {HOME: [], AWAY: []}
    for team_id in (HOME, AWAY):
        for order, position in enumerate(FIELDERS, start=1):
            ident = team_id * 100 + order
            if league == "sba":
                entry = await db_ops.add_sba_lineup_player(game_id, team_id, ident, position, order)
                link = await db_ops.add_sba_roster_player(game_id, ident, team_id)
            else:
                entry = await db_ops.add_pd_lineup_card(game_id, team_id, ident, position, order)
                link = await db_ops.add_pd_roster_card(game_id, ident, team_id)
            lineups[team_id].append(entry)
            rosters[team_id].append(link)
        pitcher = team_id * 100 + 50
        if league == "sba":
            entry = await db_ops.add_sba_lineup_player(game_id, team_id, pitcher, "P")
            link = await db_ops.add_sba_roster_player(
                game_id=game_id, player_id=pitcher, team_id=team_id
            )
        else:
            entry = await db_ops.add_pd_lineup_card(game_id, team_id, pitcher, "P")
            link = await db_ops.add_pd_roster_card(
                game_id=game_id, card_id=pitcher, team_id=team_id
            )
        lineups[team_id].append(entry)
        rosters[team_id].append(link)
    await db_ops.create_game_session(game_id)
    return {"game_id": game_id, "lineups": lineups, "rosters": rosters}


@pytest.mark.parametrize("league", ["sba", "pd"])
async def test_create_a_complete_game(db_ops: Any, league: str) -> None:
    made = await create_complete_game(db_ops, league)
    game_id = made["game_id"]
    game = await db_ops.get_game(game_id)
    assert (game.league_id, game.home_team_id, game.away_team_id) == (league, HOME, AWAY)
    assert (game.game_mode, game.visibility, game.status) == ("friendly", "public", "pending")
    home = await db_ops.get_active_lineup(game_id, HOME)
    assert [entry.position for entry in home] == [*FIELDERS, "P"]
    assert [entry.batting_order for entry in home] == [*range(1, 10), None]
    roster = await (db_ops.get_sba_roster if league == "sba" else db_ops.get_pd_roster)(game_id)
    assert len(roster) == 20
    assert {link.team_id for link in roster} == {HOME, AWAY}


async def test_record_a_play(db_ops: Any) -> None:
    made = await create_complete_game(db_ops)
    game_id, lineups = made["game_id"], made["lineups"]
    batter, pitcher = lineups[AWAY][0], lineups[HOME][-1]
    # The old documentation's play dict: no scores, no outs_before (the old table defaulted them).
    play_id = await db_ops.save_play(
        {
            "game_id": game_id,
            "play_number": 1,
            "inning": 1,
            "half": "top",
            "batter_id": batter.id,
            "pitcher_id": pitcher.id,
            "dice_roll": "4-3",
            "result_description": "Home run to left",
            "pa": 1,
            "ab": 1,
            "hit": 1,
            "homerun": 1,
            "rbi": 1,
            "run": 1,
            "away_score": 1,
            "home_score": 0,
        }
    )
    await db_ops.update_game_state(game_id, 1, "top", 0, 1)
    second = await db_ops.save_play(
        {
            "game_id": game_id,
            "play_number": 2,
            "inning": 1,
            "half": "top",
            "batter_id": lineups[AWAY][1].id,
            "pitcher_id": pitcher.id,
            "outs_recorded": 1,
            "result_description": "Ground out",
            "pa": 1,
            "ab": 1,
        }
    )
    plays = await db_ops.get_plays(game_id)
    assert [play.id for play in plays] == [play_id, second]
    # The play without scores carries the score over from play 1; the old defaults apply.
    assert (plays[1].away_score, plays[1].home_score) == (1, 0)
    assert (plays[1].outs_before, plays[1].complete) == (0, False)
    # A re-sent old-shape play is the same play, not a conflict.
    resent = plays[1].model_dump(
        include={"game_id", "play_number", "inning", "half", "batter_id", "pitcher_id"}
    )
    resent.update(outs_recorded=1, result_description="Ground out", pa=1, ab=1)
    assert await db_ops.save_play(resent) == second
    game = await db_ops.get_game(game_id)
    assert (game.current_inning, game.current_half, game.away_score) == (1, "top", 1)
    stats = await db_ops.get_pitcher_stats(game_id, pitcher.id)
    assert stats == {"outs": 1, "hits_allowed": 1, "walks": 0, "strikeouts": 0}
    idle = await db_ops.get_pitcher_stats(game_id, lineups[AWAY][-1].id)
    assert idle == {"outs": 0, "hits_allowed": 0, "walks": 0, "strikeouts": 0}


async def test_first_play_without_scores_starts_at_zero(db_ops: Any) -> None:
    made = await create_complete_game(db_ops, "pd")
    game_id, lineups = made["game_id"], made["lineups"]
    await db_ops.save_play(
        {
            "game_id": game_id,
            "play_number": 1,
            "inning": 1,
            "half": "top",
            "outs_before": 0,
            "batter_id": lineups[AWAY][0].id,
            "pitcher_id": lineups[HOME][-1].id,
            "home_score": 0,
        }
    )
    (play,) = await db_ops.get_plays(game_id)
    assert (play.away_score, play.home_score) == (0, 0)


async def test_recover_a_game(db_ops: Any) -> None:
    made = await create_complete_game(db_ops)
    game_id, lineups = made["game_id"], made["lineups"]
    engine = GameEngine(StateManager())
    state = GameState(game_id, "sba", HOME, AWAY)
    for batter in lineups[AWAY][:3]:
        await engine._save_play_to_db(state, batter.id, lineups[HOME][-1].id, 0, 1)

    data = await db_ops.load_game_state(game_id)
    assert data["game"]["league_id"] == "sba"
    assert data["game"]["id"] == game_id
    assert data["game"]["away_score"] == 3
    assert [lineup["position"] for lineup in data["lineups"] if lineup["team_id"] == AWAY] == [
        *FIELDERS,
        "P",
    ]
    assert [play["play_number"] for play in data["plays"]] == [1, 2, 3]
    assert [play["away_score"] for play in data["plays"]] == [0, 0, 0]
    assert data.get("session")["game_id"] == game_id
    assert data.get("no such key", "absent") == "absent"
    with pytest.raises(KeyError):
        data["no such key"]
    assert await db_ops.load_game_state(uuid.uuid4()) is None
    await engine.state_manager.db_ops.close()


async def test_batch_save_dice_rolls(db_ops: Any) -> None:
    made = await create_complete_game(db_ops)
    game_id, lineups = made["game_id"], made["lineups"]
    # The dice of plays 1 to 10 are saved after plays 1 to 9: a roll belongs to a stored play
    # or to the one being played (gamedb is stricter here, see the README's guide).
    engine = GameEngine(StateManager())
    state = GameState(game_id, "sba", HOME, AWAY)
    for batter in lineups[AWAY][:9]:
        await engine._save_play_to_db(state, batter.id, lineups[HOME][-1].id, 0, 0)
    rolls = [
        AbRoll(f"roll-{n}", game_id, RollType.AB, 3, 4, 2, 17, team_id=AWAY, play_number=n)
        for n in range(1, 11)
    ]
    rolls.append(AbRoll("jump-1", game_id, RollType.JUMP, 1, 1, 1, 1, context={"runner": 3}))
    await db_ops.save_rolls_batch(rolls=rolls)
    await db_ops.save_rolls_batch(rolls)  # re-sent: nothing duplicates
    stored = {roll.roll_id: roll for roll in await db_ops.get_rolls_for_game(game_id)}
    assert len(stored) == 11
    first = stored["roll-1"]
    assert first.roll_type == "ab"
    assert first.rolled_at == rolls[0].timestamp
    assert first.roll_data.model_dump() == {"dice": {}, "total": None, **rolls[0].to_dict()}
    assert (first.team_id, first.play_number) == (AWAY, 1)
    assert stored["jump-1"].roll_type == "jump"
    assert stored["jump-1"].context == {"runner": 3}


async def test_roll_back_to_a_play(db_ops: Any) -> None:
    made = await create_complete_game(db_ops)
    game_id, lineups = made["game_id"], made["lineups"]
    engine = GameEngine(StateManager())
    state = GameState(game_id, "sba", HOME, AWAY)
    pitcher = lineups[HOME][-1]
    for n, batter in enumerate(lineups[AWAY][:6]):
        await engine._save_play_to_db(state, batter.id, pitcher.id, 1 if n % 2 else 0, 0)
    reliever = await db_ops.add_substitution(
        game_id=game_id, replacing_id=pitcher.id, after_play=4, position="P", player_id=1099
    )
    await db_ops.save_rolls_batch(
        [AbRoll(f"r{n}", game_id, RollType.AB, 1, 2, 3, 4, play_number=n) for n in range(1, 7)]
    )

    # The old documentation's rollback: three deletes after the kept play.
    assert await db_ops.delete_plays_after(game_id, 3) == 3
    assert await db_ops.delete_substitutions_after(game_id, 3) == 1
    assert await db_ops.delete_rolls_after(game_id, 3) == 3
    assert [play.play_number for play in await db_ops.get_plays(game_id)] == [1, 2, 3]
    home = await db_ops.get_active_lineup(game_id, HOME)
    assert pitcher.id in [entry.id for entry in home]
    assert reliever.id not in [entry.id for entry in home]
    await engine.state_manager.db_ops.close()


# ---- the engine's call sites and the old error semantics ------------------------------------


def test_built_synchronously_without_arguments_or_a_running_loop() -> None:
    ops = DatabaseOperations()
    assert isinstance(ops, DatabaseOperations)


async def test_state_manager_and_game_engine(old_env: str) -> None:
    manager = StateManager()  # a synchronous __init__; nothing is opened yet
    engine = GameEngine(manager)
    made = await create_complete_game(manager.db_ops, "pd")
    game_id, lineups = made["game_id"], made["lineups"]
    state = GameState(game_id, "pd", HOME, AWAY)
    pitcher = lineups[HOME][-1]
    outcomes = [(0, 1), (1, 0), (1, 0), (0, 0), (1, 0)]  # (outs, runs) per plate appearance
    for n, (outs, runs) in enumerate(outcomes):
        await engine._save_play_to_db(state, lineups[AWAY][n].id, pitcher.id, outs, runs)
    assert (state.inning, state.half, state.away_score) == (1, "bottom", 1)

    recovered = await StateManager().recover_game(game_id)
    assert recovered == GameState(
        game_id, "pd", HOME, AWAY, inning=1, half="bottom", home_score=0, away_score=1, play_count=5
    )
    # The same object is reused: one pool for every call.
    first = await manager.db_ops.database()
    assert await manager.db_ops.database() is first
    assert first.max_connections == 22  # DB_POOL_SIZE 2 + DB_MAX_OVERFLOW 20
    await manager.db_ops.close()
    assert await StateManager().recover_game(uuid.uuid4()) is None


async def test_missing_game_is_a_value_error(db_ops: Any) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ValueError, match=str(missing)) as caught:
        await db_ops.update_game_state(missing, 1, "top", 0, 0)
    assert isinstance(caught.value, GameNotFound)
    assert isinstance(caught.value, UnknownGame)
    assert caught.value.game_id == missing
    with pytest.raises(ValueError, match=str(missing)):
        await db_ops.save_play(
            {
                "game_id": missing,
                "play_number": 2,
                "inning": 1,
                "half": "top",
                "batter_id": 1,
                "pitcher_id": 2,
            }
        )
    with pytest.raises(ValueError, match=str(missing)):
        await db_ops.add_sba_roster_player(missing, 5, HOME)


async def test_remove_roster_entry_by_id_alone(db_ops: Any) -> None:
    made = await create_complete_game(db_ops)
    game_id = made["game_id"]
    link = made["rosters"][HOME][0]
    assert await db_ops.remove_roster_entry(link.id) is True
    assert await db_ops.remove_roster_entry(link.id) is False
    assert link.id not in [entry.id for entry in await db_ops.get_sba_roster(game_id)]
    assert len(await db_ops.get_sba_roster(game_id)) == 19
    with pytest.raises(InvalidInput):
        await db_ops.remove_roster_entry("1")
    with pytest.raises(InvalidInput):
        await db_ops.remove_roster_entry(2**63)


async def test_needs_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here either
    ops = DatabaseOperations()
    with pytest.raises(ValueError, match="DATABASE_URL"):
        await ops.database()
    with pytest.raises(AttributeError):
        ops.no_such_operation  # noqa: B018


async def test_the_typed_api_takes_the_old_positional_calls(db: Database) -> None:
    """What lives in the typed API itself: the old argument order, ``rolls=`` and the
    engine's roll objects, and the snapshot's item access."""
    game_id = uuid.uuid4()
    await db.create_game(game_id, "sba", HOME, AWAY, "ranked", "private")
    pitcher = await db.add_sba_lineup_player(game_id, HOME, 7, "P")
    batter = await db.add_sba_lineup_player(game_id, AWAY, 8, "CF", 1)
    link = await db.add_sba_roster_player(game_id, 7, HOME)
    assert (link.player_id, link.team_id) == (7, HOME)
    await db.save_play(
        {
            "game_id": game_id,
            "play_number": 1,
            "inning": 1,
            "half": "top",
            "outs_before": 0,
            "batter_id": batter.id,
            "pitcher_id": pitcher.id,
            "away_score": 0,
            "home_score": 0,
        }
    )
    update = await db.update_game_state(game_id, 2, "bottom", 3, 1)
    assert update.changed
    with pytest.raises(TypeError):
        await db.update_game_state(game_id, 2, "bottom", 3, 1, 2)  # type: ignore[call-arg]
    assert await db.save_rolls_batch(rolls=[AbRoll("a", game_id, RollType.FIELDING, 1, 1, 1, 1)])
    snapshot = await db.load_game_state(game_id)
    assert snapshot is not None
    assert snapshot["game"]["game_mode"] == "ranked"
    assert snapshot["game"]["current_half"] == "bottom"
    assert snapshot["plays"][0]["batter_id"] == batter.id
    with pytest.raises(GameNotFound) as missing:
        await db.update_game_state(uuid.uuid4(), 1, "top", 0, 0)
    assert not isinstance(missing.value, ValueError)  # the typed API keeps its typed error


# ---- the README's migration guide ----------------------------------------------------------

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
GUIDE = README[README.index("## Switching from the old SQLAlchemy layer") :]
GUIDE = GUIDE[: GUIDE.index("\n## ", 4)]


def test_the_one_import_is_the_compat_class() -> None:
    assert "\nfrom gamedb import DatabaseOperations  #" in GUIDE
    assert gamedb.DatabaseOperations is DatabaseOperations is compat.DatabaseOperations


def test_every_old_call_in_the_guide_takes_its_documented_arguments() -> None:
    calls = re.findall(r"^\| `(\w+)\(([^)]*)\)`", GUIDE, re.M)
    assert len(calls) >= 18
    ops = DatabaseOperations()
    for name, arguments in calls:
        documented = [argument.split("=")[0] for argument in arguments.split(", ") if argument]
        own = getattr(DatabaseOperations, name, None)
        signature = inspect.signature(own if own is not None else getattr(Operations, name))
        taken = [p for p in signature.parameters if p != "self"]
        assert taken[: len(documented)] == documented, name
        assert callable(getattr(ops, name))
