"""What is accepted on write always reads back: any JSON number in any jsonb input (roll data,
roll context, session snapshot, connected users) is refused with ``InvalidInput`` or
recovered by every reader (``get_rolls_for_game``, ``load_game_state``, ``gamedb export``),
and historic timestamps survive a server whose time zone is not UTC."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import math
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gamedb import Database, GameDBError, GameSnapshot, InvalidInput
from gamedb.cli import cli
from tests.factories import play_dict, set_up_game
from tests.integration.test_fuzz import FULL

NUMBERS = settings(
    max_examples=600 if FULL else 120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.floats(),
    st.floats(min_value=-(2.0**64), max_value=2.0**64),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
)


def same_number(sent: float, kept: object) -> bool:
    """The same JSON number: jsonb keeps the decimal a float is written as, so 1e18 comes back
    as the int 10**18 (and 2.0**63 - 1024, written 9.223372036854775e18, as that integer)."""
    if isinstance(kept, bool) or not isinstance(kept, (int, float)):
        return False
    return float(kept) == sent if isinstance(sent, float) else kept == sent


def at(document: object, *path: str | int) -> object:
    """The value at ``path`` in a JSON document."""
    for step in path:
        if isinstance(document, list) and isinstance(step, int):
            document = document[step]
        else:
            assert isinstance(document, dict) and isinstance(step, str)
            document = document[step]
    return document


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.connect(database_url, db_pool_size=2) as database:
        yield database


@NUMBERS
@given(number=numbers)
@example(number=1e19)
@example(number=2.0**63)
@example(number=-(2.0**63))
@example(number=9.223372036854775e18)
@example(number=1.7976931348623157e308)
@example(number=5e-324)
@example(number=-0.0)
async def test_every_json_number_is_refused_or_reads_back(db: Database, number: float) -> None:
    game = await set_up_game(db)
    await db.save_play(play_dict(game, 1))
    roll = {
        "game_id": game.game_id,
        "roll_id": "r1",
        "roll_type": "ab",
        "play_number": 1,
        "roll_data": {"dice": {"d20": 4}, "weight": number},
        "context": {"weights": [number]},
    }
    writes: list[object] = []
    for write in (
        db.save_rolls_batch([roll]),
        db.create_game_session(game.game_id, {"user": number}),
        db.update_session_snapshot(game.game_id, {"state": {"n": number}}),
    ):
        try:
            writes.append(await write)
        except GameDBError as exc:
            writes.append(exc)
    refused = [isinstance(outcome, InvalidInput) for outcome in writes]
    storable = (
        -(2**63) <= number < 2**63
        if isinstance(number, int)
        else math.isfinite(number) and abs(number) < 2**63
    )
    assert refused == [not storable] * 3, ("one check for every jsonb input", writes)
    if not storable:
        return

    stored = await db.get_rolls_for_game(game.game_id)
    assert same_number(number, at(stored[0].roll_data.model_extra, "weight"))
    snapshot = await db.load_game_state(game.game_id, include_rolls=True)
    assert snapshot is not None and snapshot.rolls is not None and snapshot.session is not None
    assert same_number(number, at(snapshot.rolls[0].context, "weights", 0))
    assert same_number(number, at(snapshot.session.connected_users, "user"))
    assert same_number(number, at(snapshot.session.state_snapshot, "state", "n"))
    exported = snapshot.model_dump_json()  # what `gamedb export` prints
    assert GameSnapshot.model_validate_json(exported) == snapshot


def test_gamedb_export_prints_the_largest_numbers_accepted(database_url: str) -> None:
    largest = math.nextafter(2.0**63, 0)
    gid = uuid.uuid4()

    async def store() -> None:
        async with await Database.connect(database_url, db_pool_size=1) as db:
            game = await set_up_game(db, game_id=gid)
            await db.save_play(play_dict(game, 1))
            data = {"dice": {"d20": 4}, "top": largest, "bottom": -largest, "int": -(2**63)}
            await db.save_rolls_batch(
                [{"game_id": gid, "roll_id": "r1", "roll_type": "ab", "roll_data": data}]
            )

    asyncio.run(store())
    printed = CliRunner().invoke(cli, ["export", str(gid)], env={"DATABASE_URL": database_url})
    assert printed.exit_code == 0, printed.output
    exported = json.loads(printed.output)
    stored = exported["rolls"][0]["roll_data"]
    assert (float(stored["top"]), float(stored["bottom"])) == (largest, -largest)
    assert stored["int"] == -(2**63)


HISTORIC = [
    datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(1937, 6, 30, 22, 0, 0, 123456, tzinfo=datetime.UTC),
    datetime.datetime(1, 1, 1, 0, 0, 1, tzinfo=datetime.UTC),
]


@pytest.mark.parametrize("edge", [datetime.datetime.min, datetime.datetime.max])
async def test_the_first_and_last_instants_are_refused(
    db: Database, edge: datetime.datetime
) -> None:
    """The driver would store them as -infinity / infinity, which no datetime reads back."""
    game = await set_up_game(db)
    roll = {
        "game_id": game.game_id,
        "roll_id": "r1",
        "roll_type": "ab",
        "roll_data": {"dice": {"d20": 4}},
        "rolled_at": edge.replace(tzinfo=datetime.UTC),
    }
    with pytest.raises(InvalidInput, match="rolled_at"):
        await db.save_rolls_batch([roll])
    assert await db.get_rolls_for_game(game.game_id) == []


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Asia/Kolkata", "America/St_Johns"])
async def test_a_server_time_zone_other_than_utc_does_not_break_recovery(
    database_url: str, zone: str
) -> None:
    """Historic zones have offsets in seconds (Amsterdam +00:19:32 before 1937), which
    recovery's JSON would carry if gamedb did not talk UTC to the server."""
    admin = await asyncpg.connect(database_url)
    try:
        name = await admin.fetchval("SELECT current_database()")
        await admin.execute(f"ALTER DATABASE \"{name}\" SET TimeZone = '{zone}'")
    finally:
        await admin.close()
    async with await Database.connect(database_url, db_pool_size=1) as db:
        game = await set_up_game(db)
        await db.save_play(play_dict(game, 1))
        counter = itertools.count()
        rolls: list[dict[str, Any]] = [
            {
                "game_id": game.game_id,
                "roll_id": f"r{next(counter)}",
                "roll_type": "ab",
                "play_number": 1,
                "roll_data": {"dice": {"d20": 4}},
                "rolled_at": when,
            }
            for when in HISTORIC
        ]
        await db.save_rolls_batch(rolls)
        stored = await db.get_rolls_for_game(game.game_id)
        snapshot = await db.load_game_state(game.game_id, include_rolls=True)
    assert snapshot is not None and snapshot.rolls is not None
    assert sorted(r.rolled_at for r in stored) == sorted(HISTORIC)
    assert sorted(r.rolled_at for r in snapshot.rolls) == sorted(HISTORIC)
    assert snapshot.game.created_at.utcoffset() == datetime.timedelta(0)
