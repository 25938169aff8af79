"""Hostile input at every public entry point: each call stores exactly what it was given, or
raises a typed :class:`gamedb.GameDBError` and writes nothing.

Hypothesis mixes valid values with hostile ones (1 MB text, NUL, lone surrogates, SQL
fragments, numbers past every column's range, floats, NaN, bools and strings where numbers
belong, wrong enum values, JSON that is not JSON or nests too deeply, wrong types
altogether). On success the test reads the rows back and compares them with what it sent,
type for type; on failure it checks that no table changed. Any other exception fails the
test with the example that raised it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import itertools
import math
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gamedb import (
    Database,
    GameDBError,
    GameNotFound,
    GameSnapshot,
    GameState,
    InvalidInput,
    PlayData,
    RollData,
    RollRecord,
)
from gamedb_gen import lineups, plays, rolls
from gamedb_schema.payloads import MAX_JSON_DEPTH
from tests.factories import AWAY, HOME, SetUpGame, play_dict, set_up_game

T = TypeVar("T")

FULL = os.environ.get("GAMEDB_FULL_FAULTS") == "1"
FUZZ = settings(
    max_examples=400 if FULL else 40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TABLES = ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions")

# ---- hostile values ------------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000
SQL = [
    "'; DROP TABLE plays; --",
    "1; DELETE FROM games",
    "' OR '1'='1",
    "$1",
    "%s",
    "\\'; SELECT pg_sleep(10); --",
]
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "\r\n\t",
    "\u202e\ufeff",
    "\U0001d518\U0001d52b\U0001d526 \u26be",  # astral plane and an emoji
    *SQL,
]
# By name, so that hypothesis's descriptions of strategies stay short.
LONG_TEXT = {
    "1 MB": MEGABYTE,
    "1 MB of two-byte characters": "\u00e9" * 500_000,
    "10,000 characters": MEGABYTE[:10_000],
    "10,001 characters": MEGABYTE[:10_001],
}
EDGE_INTS = [
    0,
    1,
    -1,
    2,
    3,
    9,
    10,
    32767,
    32768,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**100,
]
# Too long for repr() (sys.get_int_max_str_digits()), so hypothesis cannot report it either:
# the plain test at the end sends it everywhere.
TOO_LONG = 10**5000
EDGE_FLOATS = [0.0, -0.0, 1.0, 1.5, 3.7, 1e16, 1e308, 5e-324, math.nan, math.inf, -math.inf]


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(list(LONG_TEXT)).map(LONG_TEXT.__getitem__),
    st.text(st.characters(exclude_categories=()), max_size=30),
)
integers = st.one_of(st.sampled_from(EDGE_INTS), st.integers())
floats = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats())
wrong_types: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.binary(max_size=20),
    st.just(b"0123456789abcdef"),
    st.builds(object),
    st.builds(uuid.uuid4),
    st.just(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
    st.just(decimal.Decimal("1.5")),
    st.just(complex(1, 2)),
    st.just(frozenset({1})),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.integers()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
hostile: st.SearchStrategy[object] = st.one_of(text, integers, floats, wrong_types)


def either(
    valid: st.SearchStrategy[Any], bad: st.SearchStrategy[object] | None = None
) -> st.SearchStrategy[object]:
    """Valid values three times in four (so that a hostile value meets otherwise storable
    input), hostile ones otherwise. (``one_of`` would flatten ``hostile``'s many branches and
    draw mostly from them.)"""
    wrong = hostile if bad is None else bad
    return st.integers(0, 3).flatmap(lambda pick: wrong if pick == 3 else valid)


json_scalars: st.SearchStrategy[object] = st.one_of(
    st.none(), st.booleans(), integers, floats, text
)
json_like: st.SearchStrategy[object] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(text, inner, max_size=4),
        st.dictionaries(st.integers(), inner, min_size=1, max_size=2),
        st.tuples(inner),
        st.sets(st.integers(), max_size=2),
        st.builds(object),
    ),
    max_leaves=12,
)
json_plain: st.SearchStrategy[object] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
json_hostile: st.SearchStrategy[object] = either(
    json_plain,
    bad=st.one_of(
        json_like,
        # Built rather than sampled: hypothesis describes a strategy by the repr() of its
        # values, and deep nesting soon exhausts the recursion limit inside its frames.
        st.builds(nested, st.sampled_from([MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])),
        st.builds(lambda: {"deep": nested(MAX_JSON_DEPTH - 1)}),
        st.builds(lambda: {"huge": MEGABYTE}),
    ),
)


def changes(fields: Mapping[str, st.SearchStrategy[object]]) -> st.SearchStrategy[dict[str, Any]]:
    """One to three fields (or an unknown one) set to values from their strategies."""
    names = [*fields, "no_such_field"]
    return st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: fields.get(name, hostile) for name in chosen})
    )


# ---- comparing what was sent with what was stored -----------------------------------------


def as_uuid(sent: object) -> uuid.UUID | None:
    """The UUID a value spells, in the forms gamedb accepts (UUID, text, 16 bytes)."""
    if isinstance(sent, uuid.UUID):
        return sent
    if isinstance(sent, str):
        return uuid.UUID(sent)
    if isinstance(sent, bytes):
        return uuid.UUID(bytes=sent) if len(sent) == 16 else uuid.UUID(sent.decode())
    return None


def same(sent: object, stored: object) -> bool:
    """Whether ``stored`` is exactly ``sent``: no coercion of bools, floats or text."""
    if isinstance(stored, uuid.UUID):
        return as_uuid(sent) == stored
    if isinstance(stored, enum.StrEnum):
        return isinstance(sent, str) and sent == stored
    if isinstance(stored, datetime.datetime):
        # By instant; `==` is False for any time in a zone's gap (PEP 495).
        return isinstance(sent, datetime.datetime) and (
            sent.astimezone(datetime.UTC) == stored.astimezone(datetime.UTC)
        )
    return type(sent) is type(stored) and sent == stored


def same_json(sent: object, stored: object) -> bool:
    """JSON equality as jsonb keeps it: one number type (1e16 reads back as an integer),
    objects without key order; bools stay bools, text stays text."""
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent is stored
    if isinstance(sent, float):
        return isinstance(stored, (int, float)) and float(stored) == sent
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(sent) == len(stored)
            and all(same_json(a, b) for a, b in zip(sent, stored, strict=True))
        )
    if isinstance(sent, dict):
        return (
            isinstance(stored, dict)
            and sent.keys() == stored.keys()
            and all(same_json(value, stored[key]) for key, value in sent.items())
        )
    return type(sent) is type(stored) and sent == stored


def same_roll_data(sent: object, stored: RollData) -> bool:
    return isinstance(sent, Mapping) and all(
        same_json(value, getattr(stored, name)) for name, value in sent.items()
    )


# ---- the database, and proof that a failed call wrote nothing ----------------------------


@dataclasses.dataclass
class Fuzz:
    """A test's database and games, and what its calls came to."""

    db: Database
    sba: SetUpGame
    pd: SetUpGame
    roll_ids: itertools.count[int] = dataclasses.field(default_factory=itertools.count)
    succeeded: int = 0
    refused: dict[str, int] = dataclasses.field(default_factory=dict)

    async def next_play(self, game: SetUpGame) -> int:
        """The number the game's next play takes (plays are numbered without gaps)."""
        return (await plays.get_last_play_number(self.db.pool, game_id=game.game_id) or 0) + 1

    async def fingerprint(self) -> list[str]:
        """Row count and a content hash of every table."""
        async with self.db.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT "
                + ", ".join(
                    f"(SELECT count(*) || ':' || COALESCE(sum(hashtext(t::text)), 0)"
                    f" FROM {table} AS t)"
                    for table in TABLES
                )
            )
        assert row is not None
        return list(row.values())

    async def attempt(self, call: Awaitable[T]) -> T | GameDBError:
        """The call's result, or the typed error it raised after writing nothing."""
        before = await self.fingerprint()
        try:
            result = await call
        except GameDBError as exc:
            error = exc
        else:
            self.succeeded += 1
            return result
        kind = type(error).__name__
        self.refused[kind] = self.refused.get(kind, 0) + 1
        assert await self.fingerprint() == before, f"partial write before {error!r}"
        if isinstance(error, GameNotFound):
            missing = error.game_id
            assert missing is not None and await self.db.get_game(missing) is None, error
        return error


@pytest.fixture
async def fuzz(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Fuzz]:
    """One database, an SBA and a PD game with full lineups, for all of a test's examples;
    prints what the calls came to."""
    async with await Database.connect(database_url, db_pool_size=2) as db:
        state = Fuzz(db, await set_up_game(db, "sba"), await set_up_game(db, "pd"))
        yield state
    calls = state.succeeded + sum(state.refused.values())
    print(
        f"\n{request.node.name}: {calls} calls, {state.succeeded} succeeded (writes read back "
        f"exactly), refused {state.refused}"
    )


def game_ids(fuzz: Fuzz) -> st.SearchStrategy[object]:
    """The fixture's games (as UUID or text), games that do not exist, hostile values."""
    return either(
        st.sampled_from(
            [fuzz.sba.game_id, fuzz.pd.game_id, str(fuzz.sba.game_id).upper(), uuid.uuid4()]
        )
    )


# ---- input models ---------------------------------------------------------------------------

PLAY_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "play_number": either(st.integers(1, 2**31 - 1)),
    "inning": either(st.integers(1, 1000)),
    "half": either(st.sampled_from(["top", "bottom"])),
    "outs_before": either(st.integers(0, 2)),
    "outs_recorded": either(st.integers(0, 1)),
    "catcher_id": either(st.none()),
    "dice_roll": either(st.text(max_size=20)),
    "result_description": either(st.sampled_from(SQL)),
    "outcome": either(st.sampled_from([None, "single", "x" * 10_000])),
    "pa": either(st.integers(0, 1)),
    "hit": either(st.integers(0, 32767)),
    "rbi": either(st.integers(0, 4)),
    "error": either(st.integers(0, 3)),
    "away_score": either(st.integers(0, 2**31 - 1)),
    "home_score": either(st.integers(0, 30)),
    "complete": either(st.booleans()),
    "game_id": hostile,
}
STATE_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "inning": either(st.integers(1, 1000)),
    "half": either(st.sampled_from(["top", "bottom"])),
    "home_score": either(st.integers(0, 2**31 - 1)),
    "away_score": either(st.integers(0, 50)),
    "outs": either(st.integers(0, 2)),
}
ROLL_DATA = either(
    st.one_of(
        st.fixed_dictionaries(
            {"dice": st.dictionaries(st.text(max_size=8), st.integers(1, 20), max_size=3)},
            optional={
                "total": either(st.integers(0, 60)),
                "detail": json_hostile,
                "note": either(st.text(max_size=10)),
            },
        ),
        st.fixed_dictionaries(
            {"dice": st.dictionaries(text, either(st.integers(1, 6)), max_size=2)}
        ),
    )
)
EAST, WEST = (datetime.timezone(datetime.timedelta(hours=h)) for h in (14, -14))
MOMENTS = either(
    st.one_of(
        st.datetimes(timezones=st.timezones()),
        st.datetimes(),  # naive
        st.sampled_from(
            [
                datetime.datetime(1, 1, 1, tzinfo=EAST),
                datetime.datetime(9999, 12, 31, 23, 59, tzinfo=WEST),
                datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
                datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
                datetime.datetime(
                    2026, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=23))
                ),
            ]
        ),
    )
)
ROLL_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "roll_id": either(st.text(min_size=1, max_size=20)),
    "roll_type": either(st.sampled_from(["ab_roll", "jump", *SQL])),
    "play_number": either(st.integers(1, 500)),
    "team_id": either(st.sampled_from([HOME, AWAY])),
    "player_id": either(st.integers(1, 2**31 - 1)),
    "roll_data": ROLL_DATA,
    "context": json_hostile,
    "rolled_at": MOMENTS,
    "game_id": hostile,
}
STATE: dict[str, Any] = {"inning": 1, "half": "top", "home_score": 0, "away_score": 0}
ROLL: dict[str, Any] = {"game_id": uuid.uuid4(), "roll_id": "r", "roll_type": "t", "roll_data": {}}
MODELS: dict[type[BaseModel], tuple[dict[str, Any], dict[str, st.SearchStrategy[object]]]] = {
    PlayData: (
        {
            "game_id": uuid.uuid4(),
            "play_number": 1,
            "inning": 1,
            "half": "top",
            "outs_before": 0,
            "batter_id": 1,
            "pitcher_id": 2,
            "away_score": 0,
            "home_score": 0,
        },
        PLAY_FIELDS,
    ),
    GameState: ({"inning": 1, "half": "top", "home_score": 0, "away_score": 0}, STATE_FIELDS),
    RollRecord: (
        {"game_id": uuid.uuid4(), "roll_id": "r", "roll_type": "ab_roll", "roll_data": {}},
        ROLL_FIELDS,
    ),
    RollData: ({}, {"dice": ROLL_DATA, "total": either(st.integers()), "extra": json_hostile}),
}


@FUZZ
@given(model=st.sampled_from(list(MODELS)), data=st.data())
def test_input_models_keep_exactly_what_they_accept(
    model: type[BaseModel], data: st.DataObject
) -> None:
    base, fields = MODELS[model]
    sent = {**base, **data.draw(changes(fields))}
    try:
        built = model.model_validate(sent)
    except ValidationError:
        return
    for name, value in sent.items():
        kept = getattr(built, name)
        if name in {"context", "extra"}:
            assert same_json(value, kept), name
        elif name == "roll_data":
            assert isinstance(kept, RollData) and same_roll_data(value, kept)
        else:
            assert same(value, kept), (name, value, kept)


# ---- writes ---------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
async def test_save_play(fuzz: Fuzz, data: st.DataObject) -> None:
    game = data.draw(st.sampled_from([fuzz.sba, fuzz.pd]))
    lineup_ids = st.sampled_from([entry.id for entry in game.home + game.away])
    fields = {
        **PLAY_FIELDS,
        "batter_id": either(lineup_ids),
        "pitcher_id": either(lineup_ids),
        "on_first_id": either(st.one_of(st.none(), lineup_ids)),
    }
    sent = {**play_dict(game, await fuzz.next_play(game)), **data.draw(changes(fields))}
    argument: Any = data.draw(either(st.just(sent)))
    result = await fuzz.attempt(fuzz.db.save_play(argument))
    if isinstance(result, GameDBError):
        return
    stored = await plays.get_play(
        fuzz.db.pool, game_id=game.game_id, play_number=sent["play_number"]
    )
    assert stored is not None and stored.id == result
    for name, value in sent.items():
        assert same(value, getattr(stored, name)), (name, value, getattr(stored, name))


@FUZZ
@given(data=st.data())
async def test_record_play_and_update_game_state(fuzz: Fuzz, data: st.DataObject) -> None:
    game = fuzz.sba
    gid = game.game_id
    game_row = await fuzz.db.get_game(gid)
    assert game_row is not None
    current = game_row.state_version
    version: Any = data.draw(either(st.sampled_from([None, current, current + 1])))
    state: dict[str, Any]
    if data.draw(st.booleans()):
        following = await fuzz.next_play(game)
        play = {**play_dict(game, following), **data.draw(changes(PLAY_FIELDS))}
        state = {"inning": 2, "half": "bottom", "home_score": 1, "away_score": 0, "outs": 1}
        state |= data.draw(changes(STATE_FIELDS))
        argument: Any = data.draw(either(st.just(state)))
        recorded = await fuzz.attempt(fuzz.db.record_play(play, argument, expected_version=version))
        if isinstance(recorded, GameDBError):
            return
        stored = await plays.get_play(fuzz.db.pool, game_id=gid, play_number=play["play_number"])
        assert stored is not None and stored.id == recorded.play_id
        assert all(same(value, getattr(stored, name)) for name, value in play.items())
        if play["play_number"] != following:
            return  # a play re-sent as stored: what was stored stands, state included
    else:
        state = {
            "inning": data.draw(either(st.integers(1, 20))),
            "half": data.draw(either(st.sampled_from(["top", "bottom"]))),
            "home_score": data.draw(either(st.integers(0, 50))),
            "away_score": data.draw(either(st.integers(0, 50))),
            "outs": data.draw(st.one_of(st.none(), either(st.integers(0, 2)))),
            "status": data.draw(
                st.one_of(st.none(), either(st.sampled_from(["active", "completed", "pending"])))
            ),
        }
        target: Any = data.draw(st.one_of(st.just(gid), game_ids(fuzz)))
        updated = await fuzz.attempt(
            fuzz.db.update_game_state(game_id=target, expected_version=version, **state)
        )
        if isinstance(updated, GameDBError) or as_uuid(target) != gid:
            return
        state = {name: value for name, value in state.items() if value is not None}
    after = await fuzz.db.get_game(gid)
    assert after is not None
    stored_state = {
        "inning": after.current_inning,
        "half": after.current_half,
        "home_score": after.home_score,
        "away_score": after.away_score,
        "outs": after.outs,
        "status": after.status,
    }
    for name, value in state.items():
        assert same(value, stored_state[name]), (name, value, stored_state[name])


@FUZZ
@given(data=st.data())
async def test_create_game(fuzz: Fuzz, data: st.DataObject) -> None:
    sent: dict[str, Any] = {
        "game_id": data.draw(
            either(st.one_of(st.builds(uuid.uuid4), st.builds(lambda: str(uuid.uuid4()))))
        ),
        "league_id": data.draw(either(st.sampled_from(["sba", "pd"]))),
        "home_team_id": data.draw(either(st.integers(1, 2**31 - 1))),
        "away_team_id": data.draw(either(st.integers(1, 2**31 - 1))),
        "game_mode": data.draw(either(st.sampled_from(["friendly", "ranked", "practice"]))),
        "visibility": data.draw(either(st.sampled_from(["public", "private"]))),
    }
    created = await fuzz.attempt(fuzz.db.create_game(**sent))
    if isinstance(created, GameDBError):
        return
    stored = await fuzz.db.get_game(created.id)
    assert stored == created and same(sent.pop("game_id"), created.id)
    for name, value in sent.items():
        assert same(value, getattr(stored, name)), (name, value, getattr(stored, name))


@FUZZ
@given(data=st.data())
async def test_lineup_and_roster_entries(fuzz: Fuzz, data: st.DataObject) -> None:
    game = data.draw(st.sampled_from([fuzz.sba, fuzz.pd]))
    member = "card_id" if game is fuzz.pd else "player_id"
    sent: dict[str, Any] = {
        "game_id": data.draw(st.one_of(st.just(game.game_id), game_ids(fuzz))),
        "team_id": data.draw(either(st.sampled_from([HOME, AWAY]))),
        member: data.draw(either(st.integers(1, 2**31 - 1))),
    }
    stored: BaseModel | None
    if data.draw(st.booleans()):
        sent["position"] = data.draw(either(st.sampled_from(["P", "C", "SS", "DH"])))
        sent["batting_order"] = data.draw(st.one_of(st.none(), either(st.integers(1, 9))))
        sent["is_starter"] = data.draw(either(st.booleans()))
        add = fuzz.db.add_pd_lineup_card if member == "card_id" else fuzz.db.add_sba_lineup_player
        entry = await fuzz.attempt(add(**sent))
        if isinstance(entry, GameDBError):
            return
        stored = await lineups.get_lineup_entry(fuzz.db.pool, game_id=entry.game_id, id=entry.id)
        assert stored == entry and entry.is_active
    else:
        link = await fuzz.attempt(
            fuzz.db.add_pd_roster_card(**sent)
            if member == "card_id"
            else fuzz.db.add_sba_roster_player(**sent)
        )
        if isinstance(link, GameDBError):
            return
        roster: list[Any] = await (
            fuzz.db.get_pd_roster(game.game_id)
            if member == "card_id"
            else fuzz.db.get_sba_roster(game.game_id)
        )
        assert link in roster
        stored = link
    for name, value in sent.items():
        assert same(value, getattr(stored, name)), (name, value, getattr(stored, name))


@FUZZ
@given(data=st.data())
async def test_add_substitution(fuzz: Fuzz, data: st.DataObject) -> None:
    game = data.draw(st.sampled_from([fuzz.sba, fuzz.pd]))
    member = "card_id" if game is fuzz.pd else "player_id"
    active = [
        entry
        for team in (HOME, AWAY)
        for entry in await fuzz.db.get_active_lineup(game.game_id, team)
    ]
    sent: dict[str, Any] = {
        "game_id": data.draw(st.one_of(st.just(game.game_id), game_ids(fuzz))),
        "replacing_id": data.draw(either(st.sampled_from([entry.id for entry in active]))),
        "after_play": data.draw(either(st.integers(0, 300))),
        "position": data.draw(either(st.sampled_from(["P", "PH", "PR", "LF"]))),
        member: data.draw(either(st.integers(10_000, 2**31 - 1))),
        "batting_order": data.draw(st.one_of(st.none(), either(st.integers(1, 9)))),
    }
    entry = await fuzz.attempt(fuzz.db.add_substitution(**sent))
    if isinstance(entry, GameDBError):
        return
    stored = await lineups.get_lineup_entry(fuzz.db.pool, game_id=entry.game_id, id=entry.id)
    replaced = await lineups.get_lineup_entry(
        fuzz.db.pool, game_id=entry.game_id, id=sent["replacing_id"]
    )
    assert stored == entry and replaced is not None and not replaced.is_active
    if sent["batting_order"] is None:
        sent["batting_order"] = replaced.batting_order
    for name, value in sent.items():
        assert same(value, getattr(stored, name)), (name, value, getattr(stored, name))


@FUZZ
@given(data=st.data())
async def test_save_rolls_batch(fuzz: Fuzz, data: st.DataObject) -> None:
    batch: list[dict[str, Any]] = []
    for _ in range(data.draw(st.integers(1, 3))):
        roll = {
            "game_id": fuzz.sba.game_id,
            "roll_id": "r",
            "roll_type": "ab_roll",
            "roll_data": {"dice": {"d6": 3}, "total": 3},
        } | data.draw(changes(ROLL_FIELDS))
        if isinstance(roll["roll_id"], str):
            # Unique, so success means this very roll was stored (a known id is skipped).
            roll["roll_id"] = f"{next(fuzz.roll_ids)}:{roll['roll_id']}"
        batch.append(roll)
    argument: Any = data.draw(either(st.just(batch)))
    saved = await fuzz.attempt(fuzz.db.save_rolls_batch(argument))
    if isinstance(saved, GameDBError) or argument is not batch:
        return
    assert saved == len(batch)
    for roll in batch:
        gid = as_uuid(roll["game_id"])
        assert gid is not None
        found = await rolls.get_rolls_by_ids(fuzz.db.pool, game_id=gid, roll_ids=[roll["roll_id"]])
        assert len(found) == 1
        for name, value in roll.items():
            kept = getattr(found[0], name)
            if name == "context":
                assert same_json(value, kept), (value, kept)
            elif name == "roll_data":
                assert same_roll_data(value, kept), (value, kept)
            elif name == "rolled_at" and value is None:
                assert isinstance(kept, datetime.datetime)  # the database's now()
            else:
                assert same(value, kept), (name, value, kept)
        snapshot = await fuzz.db.load_game_state(gid, include_rolls=True)
        assert snapshot is not None and snapshot.rolls is not None


@FUZZ
@given(users=st.one_of(st.none(), json_hostile), snapshot=json_hostile)
async def test_session_json(fuzz: Fuzz, users: Any, snapshot: Any) -> None:
    gid = uuid.uuid4()
    await fuzz.db.create_game(game_id=gid, league_id="sba", home_team_id=HOME, away_team_id=AWAY)
    opened = await fuzz.attempt(fuzz.db.create_game_session(gid, users))
    updated = await fuzz.attempt(fuzz.db.update_session_snapshot(gid, snapshot))
    stored = await fuzz.db.get_game_session(gid)
    if not isinstance(opened, GameDBError):
        assert stored is not None
        assert same_json({} if users is None else users, stored.connected_users)
    if not isinstance(updated, GameDBError):
        assert stored is not None and same_json(snapshot, stored.state_snapshot)
    recovered = await fuzz.db.load_game_state(gid)
    assert isinstance(recovered, GameSnapshot) and recovered.session == stored


# ---- rollback and reads ---------------------------------------------------------------------


@FUZZ
@given(data=st.data())
async def test_rollback_and_deletes(fuzz: Fuzz, data: st.DataObject) -> None:
    game = fuzz.pd
    for kept_number in range(1, 6):
        await fuzz.db.save_play(play_dict(game, kept_number))
    name = data.draw(
        st.sampled_from(
            [
                "rollback_to_play",
                "delete_plays_after",
                "delete_substitutions_after",
                "delete_rolls_after",
            ]
        )
    )
    target: Any = data.draw(st.one_of(st.just(game.game_id), game_ids(fuzz)))
    number: Any = data.draw(either(st.integers(-1, 6)))
    done = await fuzz.attempt(getattr(fuzz.db, name)(target, number))
    if isinstance(done, GameDBError) or name in {
        "delete_substitutions_after",
        "delete_rolls_after",
    }:
        return
    kept = [play.play_number for play in await fuzz.db.get_plays(game.game_id)]
    if as_uuid(target) == game.game_id:
        assert kept == [n for n in range(1, 6) if n <= number]


READS = [
    "get_game",
    "get_plays",
    "get_game_session",
    "get_rolls_for_game",
    "load_game_state",
    "get_box_score",
    "get_active_lineup",
    "get_pd_roster",
    "get_sba_roster",
    "get_batter_stats",
    "get_pitcher_stats",
    "remove_roster_entry",
    "delete_game",
]


@FUZZ
@given(name=st.sampled_from(READS), data=st.data())
async def test_reads_with_hostile_ids(fuzz: Fuzz, name: str, data: st.DataObject) -> None:
    target: Any = data.draw(game_ids(fuzz))
    if name in {"delete_game", "remove_roster_entry"} and as_uuid_or_none(target) in {
        fuzz.sba.game_id,
        fuzz.pd.game_id,
    }:
        target = uuid.uuid4()  # the fixture's games stay; hostile ids are the point
    arguments = [target]
    if name in {"get_active_lineup", "remove_roster_entry"}:
        arguments.append(data.draw(either(st.integers(1, 3))))
    elif name in {"get_pd_roster", "get_sba_roster", "get_batter_stats", "get_pitcher_stats"}:
        arguments.append(data.draw(st.one_of(st.none(), either(st.integers(1, 50)))))
    before = await fuzz.fingerprint()
    result = await fuzz.attempt(getattr(fuzz.db, name)(*arguments))
    if not isinstance(result, GameDBError):
        assert await fuzz.fingerprint() == before, "a read, or a delete of nothing"


def as_uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return as_uuid(value)
    except ValueError:
        return None


async def test_values_too_big_to_print_are_refused_everywhere(fuzz: Fuzz) -> None:
    """An integer past repr()'s 4,300 digits and JSON nested past Python's recursion limit:
    hypothesis cannot print either, and asyncpg's own error messages fail on them."""
    game, gid = fuzz.sba, fuzz.sba.game_id
    huge: Any = TOO_LONG
    deep = nested(5_000)
    too_deep_for_pydantic = nested(300)
    entry = game.home[0].id
    db = fuzz.db
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "play field": lambda: db.save_play(play_dict(game, 1, hit=huge)),
        "state field": lambda: db.record_play(play_dict(game, 1), {**STATE, "inning": huge}),
        "record version": lambda: db.record_play(play_dict(game, 1), STATE, expected_version=huge),
        "update version": lambda: db.update_game_state(game_id=gid, **STATE, expected_version=huge),
        "status": lambda: db.update_game_state(game_id=gid, **STATE, status=huge),
        "game id": lambda: db.create_game(
            game_id=huge, league_id="sba", home_team_id=1, away_team_id=2
        ),
        "league": lambda: db.create_game(
            game_id=uuid.uuid4(), league_id=huge, home_team_id=1, away_team_id=2
        ),
        "player": lambda: db.add_sba_lineup_player(
            game_id=gid, team_id=HOME, player_id=huge, position="P"
        ),
        "position": lambda: db.add_sba_lineup_player(
            game_id=gid, team_id=HOME, player_id=77, position=huge
        ),
        "is_starter": lambda: db.add_sba_lineup_player(
            game_id=gid, team_id=HOME, player_id=77, position="P", is_starter=huge
        ),
        "substitute position": lambda: db.add_substitution(
            game_id=gid, replacing_id=entry, after_play=0, position=huge, player_id=78
        ),
        "roster player": lambda: db.add_sba_roster_player(
            game_id=gid, team_id=HOME, player_id=huge
        ),
        "roll total": lambda: db.save_rolls_batch([{**ROLL, "roll_data": {"total": huge}}]),
        "roll context": lambda: db.save_rolls_batch([{**ROLL, "context": [huge]}]),
        "roll deep": lambda: db.save_rolls_batch([{**ROLL, "context": deep}]),
        "session users": lambda: db.create_game_session(gid, {"n": huge}),
        "session deep": lambda: db.create_game_session(gid, deep),
        "snapshot": lambda: db.update_session_snapshot(gid, [huge]),
        "snapshot deep": lambda: db.update_session_snapshot(gid, deep),
        "snapshot 300 deep": lambda: db.update_session_snapshot(gid, too_deep_for_pydantic),
        "rollback": lambda: db.rollback_to_play(gid, huge),
        "delete rolls": lambda: db.delete_rolls_after(gid, huge),
        "lineup team": lambda: db.get_active_lineup(gid, huge),
        "stats lineup": lambda: db.get_batter_stats(gid, huge),
        "include_rolls": lambda: db.load_game_state(gid, include_rolls=huge),
        "roster id": lambda: db.remove_roster_entry(gid, huge),
    }
    for name, call in calls.items():
        assert isinstance(await fuzz.attempt(call()), InvalidInput), name
