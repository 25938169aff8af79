"""A database of the old layer's tables holding games written the way the old layer wrote
them, some of them dirty in each way gamedb's rules refuse, and how to compare an imported
game with what the old tables held."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from gamedb import Database, League
from gamedb_demo.simulation import GameRecord, GameSimulation

__all__ = ["DIRTY", "OLD_SCHEMA", "OldGames", "assert_round_trip", "fill_old_tables"]

OLD_SCHEMA = Path(__file__).with_name("old_layer_schema.sql")

# How each dirty game breaks gamedb's rules, and what the report must say about it.
DIRTY = {
    "completed_without_time": "a completed game without completed_at",
    "position": "position 'OF' is not one of",
    "gap": "play 5 is missing",
    "foreign_lineup": "is not one of this game's lineups",
    "foreign_replacing": "which is not one of this game's",
    "card_and_player": "holds a card",
    "roster_card_and_player": "holds a card",
    "wrong_league": "in a PD game",
    "no_first_play": "the plays start at 2, not 1",
}

_PLAY_COLUMNS = (
    "game_id", "play_number", "inning", "half", "outs_before", "outs_recorded", "batter_id",
    "pitcher_id", "catcher_id", "on_first_id", "on_second_id", "on_third_id", "dice_roll",
    "result_description", "outcome", "pa", "ab", "hit", "double", "triple", "homerun", "bb",
    "so", "hbp", "rbi", "run", "sb", "cs", "error", "complete", "created_at",
)  # fmt: skip


@dataclasses.dataclass
class OldGames:
    clean: list[uuid.UUID]
    dirty: dict[uuid.UUID, str]  # game → the kind of dirt


async def fill_old_tables(
    url: str, games: int = 50, seed: int = 3, *, with_dirty: bool = True
) -> OldGames:
    """Create the old schema at ``url`` and write ``games`` simulated games into it as the old
    layer did: plays of every fifth game without scores (the old table stored 0), every
    seventh game left in progress; ``with_dirty``, the last ``len(DIRTY)`` games dirty, one
    kind each."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(OLD_SCHEMA.read_text())
        # Production models without the XOR constraint, and with columns gamedb never had.
        await conn.execute(
            "ALTER TABLE lineups DROP CONSTRAINT lineups_one_id;"
            "ALTER TABLE roster_links DROP CONSTRAINT roster_links_one_id;"
            "ALTER TABLE games ADD COLUMN home_team_is_ai boolean NOT NULL DEFAULT false;"
            "ALTER TABLE plays ADD COLUMN locked_by text;"
            # Old lineup ids far from gamedb's, so a remap that kept them would show.
            "SELECT setval('lineups_id_seq', 100000)"
        )
        clean: list[uuid.UUID] = []
        made: list[tuple[uuid.UUID, GameRecord]] = []
        for n in range(games):
            gid = uuid.UUID(int=n + 1)
            league = League.SBA if n % 2 == 0 else League.PD
            made.append((gid, await _write_game(conn, gid, league, seed * 1000 + n, n)))
            clean.append(gid)
        dirty: dict[uuid.UUID, str] = {}
        spoiled = made[-len(DIRTY) :] if with_dirty else []
        for (gid, record), kind in zip(spoiled, list(DIRTY)[: len(spoiled)], strict=True):
            other = made[0][0] if gid != made[0][0] else made[1][0]
            await _dirty(conn, gid, record, kind, other)
            dirty[gid] = kind
            clean.remove(gid)
        return OldGames(clean=clean, dirty=dirty)
    finally:
        await conn.close()


async def _write_game(
    conn: asyncpg.Connection, gid: uuid.UUID, league: League, seed: int, n: int
) -> GameRecord:
    first_id = await conn.fetchval("SELECT last_value + 1 FROM lineups_id_seq") or 1
    sim = GameSimulation(gid, league, seed)
    ids = itertools.count(int(first_id))
    _, record = sim.play_offline(ids)
    await conn.execute("SELECT setval('lineups_id_seq', $1)", next(ids))
    plays = list(record.plays)
    status = str(record.status)
    completed_at: datetime.datetime | None = datetime.datetime.now(datetime.UTC)
    state = record.state
    if n % 7 == 3:  # stopped mid-game: the old row kept its state after the last play
        plays = plays[: len(plays) // 2]
        last = plays[-1]
        status, completed_at = "active", None
        inning, half = last.inning, str(last.half)
        if last.outs_before + last.outs_recorded >= 3:
            inning, half = (inning, "bottom") if half == "top" else (inning + 1, "top")
        home_score, away_score = last.home_score, last.away_score
    else:
        inning, half = state.inning, str(state.half)
        home_score, away_score = state.home_score, state.away_score
    created = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
    await conn.execute(
        "INSERT INTO games (id, league_id, home_team_id, away_team_id, game_mode, visibility,"
        " status, current_inning, current_half, home_score, away_score, created_at,"
        " completed_at) VALUES ($1, $2, $3, $4, $5, 'public', $6, $7, $8, $9, $10, $11, $12)",
        gid,
        str(league),
        record.home_team_id,
        record.away_team_id,
        "ranked" if n % 3 == 0 else "friendly",
        status,
        inning,
        half,
        home_score,
        away_score,
        created,
        completed_at if status == "completed" else None,
    )
    ident = "card_id" if league is League.PD else "player_id"
    await conn.executemany(
        f"INSERT INTO lineups (id, game_id, team_id, {ident}, position, batting_order,"
        " is_starter, is_active, replacing_id, after_play)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            (
                e.id,
                gid,
                e.team_id,
                e.ident,
                e.position,
                e.batting_order,
                e.is_starter,
                e.is_active,
                e.replacing_id,
                e.after_play,
            )
            for e in record.lineups
        ],
    )
    scored = n % 5 != 1  # the old layer's engine did not always send the score
    columns = [*_PLAY_COLUMNS, *(("away_score", "home_score") if scored else ())]
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    rows = []
    for play in plays:
        values = play.model_dump()
        values["half"] = str(play.half)
        values["created_at"] = created + datetime.timedelta(seconds=30 * play.play_number)
        rows.append(tuple(values[column] for column in columns))
    await conn.executemany(f"INSERT INTO plays ({', '.join(columns)}) VALUES ({marks})", rows)
    await conn.executemany(
        f"INSERT INTO roster_links (game_id, {ident}, team_id) VALUES ($1, $2, $3)",
        [(gid, person.ident, person.team_id) for person in record.roster],
    )
    kept = len(plays)
    await conn.executemany(
        "INSERT INTO rolls (roll_id, game_id, roll_type, play_number, team_id, player_id,"
        " roll_data, context, rolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                f"{gid.int}-{roll.roll_id}",
                gid,
                roll.roll_type,
                roll.play_number,
                roll.team_id,
                roll.player_id,
                roll.roll_data.model_dump_json(),
                json.dumps(roll.context),
                roll.rolled_at,
            )
            for roll in record.rolls
            if roll.play_number is None or roll.play_number <= kept
        ],
    )
    await conn.execute(
        "INSERT INTO game_sessions (game_id, connected_users, state_snapshot, last_action_at)"
        " VALUES ($1, $2, $3, $4)",
        gid,
        json.dumps({"1": {"user": "ann"}, "2": {"user": "bob"}}),
        json.dumps(record.session_snapshot),
        created + datetime.timedelta(hours=2),
    )
    return record


async def _dirty(
    conn: asyncpg.Connection, gid: uuid.UUID, record: GameRecord, kind: str, other: uuid.UUID
) -> None:
    starter = min(entry.id for entry in record.lineups)
    foreign = await conn.fetchval("SELECT min(id) FROM lineups WHERE game_id = $1", other)
    statements = {
        "completed_without_time": (
            "UPDATE games SET completed_at = NULL WHERE id = $1 AND status = 'completed'",
            gid,
        ),
        "position": ("UPDATE lineups SET position = 'OF' WHERE id = $1", starter),
        "gap": ("DELETE FROM plays WHERE game_id = $1 AND play_number = 5", gid),
        "foreign_lineup": (
            "UPDATE plays SET batter_id = $1 WHERE game_id = $2 AND play_number = 3",
            foreign,
            gid,
        ),
        "foreign_replacing": (
            "UPDATE lineups SET replacing_id = $1, after_play = 4 WHERE id = $2",
            foreign,
            max(entry.id for entry in record.lineups),
        ),
        "card_and_player": (
            "UPDATE lineups SET card_id = 77, player_id = 78 WHERE id = $1",
            starter,
        ),
        "roster_card_and_player": (
            "UPDATE roster_links SET card_id = 77, player_id = 78"
            " WHERE id = (SELECT min(id) FROM roster_links WHERE game_id = $1)",
            gid,
        ),
        "wrong_league": (
            "UPDATE games SET league_id = CASE league_id WHEN 'sba' THEN 'pd' ELSE 'sba' END"
            " WHERE id = $1",
            gid,
        ),
        "no_first_play": ("DELETE FROM plays WHERE game_id = $1 AND play_number = 1", gid),
    }
    statement, *args = statements[kind]
    assert await conn.execute(str(statement), *args) != "UPDATE 0"


async def assert_round_trip(db: Database, source: asyncpg.Connection, gid: uuid.UUID) -> None:
    """The imported game equals what the old tables held, lineup and play ids remapped."""
    snapshot = await db.load_game_state(gid, include_rolls=True)
    assert snapshot is not None, gid
    old_game = await source.fetchrow("SELECT * FROM games WHERE id = $1", gid)
    assert old_game is not None
    game = snapshot.game
    for column in (
        "league_id", "home_team_id", "away_team_id", "game_mode", "visibility", "status",
        "current_inning", "current_half", "home_score", "away_score", "created_at",
        "completed_at",
    ):  # fmt: skip
        assert getattr(game, column) == old_game[column], (gid, column)

    # Lineups: every row, active or not, its substitution pointing at the remapped row.
    async with db.transaction() as tx:
        new_lineups = await tx.connection.fetch(
            "SELECT * FROM lineups WHERE game_id = $1 ORDER BY id", gid
        )
    old_lineups = await source.fetch("SELECT * FROM lineups WHERE game_id = $1 ORDER BY id", gid)
    assert len(new_lineups) == len(old_lineups)

    def person(row: Any) -> tuple[int, int | None, int | None]:
        return row["team_id"], row["card_id"], row["player_id"]

    by_person = {person(row): row["id"] for row in new_lineups}
    remap = {row["id"]: by_person[person(row)] for row in old_lineups}
    assert all(old != new for old, new in remap.items())  # the old ids were not reused
    new_by_id = {row["id"]: row for row in new_lineups}
    for old in old_lineups:
        new = new_by_id[remap[old["id"]]]
        for column in ("position", "batting_order", "is_starter", "is_active", "after_play"):
            assert new[column] == old[column], (gid, column)
        assert new["replacing_id"] == remap.get(old["replacing_id"])
    assert sorted(entry.id for entry in snapshot.lineups) == sorted(remap.values())
    assert sorted(entry.id for entry in snapshot.active_lineups) == sorted(
        remap[row["id"]] for row in old_lineups if row["is_active"]
    )

    old_plays = await source.fetch(
        "SELECT * FROM plays WHERE game_id = $1 ORDER BY play_number", gid
    )
    assert len(snapshot.plays) == len(old_plays)
    for new_play, old_play in zip(snapshot.plays, old_plays, strict=True):
        for column in _PLAY_COLUMNS[1:]:
            expected = old_play[column]
            if column.endswith("_id") and expected is not None:
                expected = remap[expected]
            assert getattr(new_play, column) == expected, (gid, old_play["play_number"], column)
        assert (new_play.away_score, new_play.home_score) == (
            old_play["away_score"],
            old_play["home_score"],
        )

    old_roster = await source.fetch("SELECT * FROM roster_links WHERE game_id = $1", gid)
    assert sorted(person(link.model_dump()) for link in snapshot.roster) == sorted(
        person(row) for row in old_roster
    )

    old_rolls = await source.fetch("SELECT * FROM rolls WHERE game_id = $1", gid)
    assert snapshot.rolls is not None
    new_rolls = {roll.roll_id: roll for roll in snapshot.rolls}
    assert set(new_rolls) == {row["roll_id"] for row in old_rolls}
    for old_roll in old_rolls:
        new_roll = new_rolls[old_roll["roll_id"]]
        assert new_roll.roll_data.model_dump() == json.loads(old_roll["roll_data"])
        assert new_roll.context == json.loads(old_roll["context"])
        for column in ("roll_type", "play_number", "team_id", "player_id", "rolled_at"):
            assert getattr(new_roll, column) == old_roll[column], (gid, column)

    old_session = await source.fetchrow("SELECT * FROM game_sessions WHERE game_id = $1", gid)
    assert old_session is not None
    assert snapshot.session is not None
    assert snapshot.session.connected_users == json.loads(old_session["connected_users"])
    assert snapshot.session.state_snapshot == json.loads(old_session["state_snapshot"])
    assert snapshot.session.last_action_at == old_session["last_action_at"]
