"""Bring existing games over from the old SQLAlchemy layer's tables (``gamedb import-legacy``).

The source database is opened read-only and read by column name, so extra columns are ignored
and a missing optional column reads as the old table's default. Each game is checked against
gamedb's rules first and then written in one transaction of its own, lineup ids remapped (the
plays, substitutions and runners follow them): it arrives whole or not at all. A game gamedb's
rules refuse is skipped with the reason, never half-imported and never "fixed"; a game already
here is left alone, so a re-run imports nothing twice and an interrupted run resumes::

    async with await Database.connect() as db:
        report = await import_legacy(db, "postgresql://old-host/engine")
    print(report.table())
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, computed_field

from gamedb.database import Database, Transaction
from gamedb.errors import (
    ConstraintViolation,
    GameDBError,
    ImportInterrupted,
    InvalidInput,
    LegacySchemaError,
    translating,
)
from gamedb.models import CONNECTED_USERS, STATE_SNAPSHOT, GameState, PlayData, RollRecord
from gamedb.validation import Argument, shown, validate_input
from gamedb_gen import legacy
from gamedb_gen.models import GameMode, GameStatus, GameVisibility, League
from gamedb_schema.urls import normalize_url, redact_url

__all__ = [
    "POSITIONS",
    "TABLES",
    "GameOutcome",
    "ImportInterrupted",
    "ImportReport",
    "LegacySchemaError",
    "import_legacy",
]

TABLES = ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions")
"""The old layer's tables, in the order a game's rows are written."""

POSITIONS = ("P", "C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH", "PH", "PR")
"""The positions gamedb's lineups take (the ``lineups_position_known`` constraint)."""

_OPTIONAL_TABLES = ("roster_links", "rolls", "game_sessions")
_PLAYERS = ("batter_id", "pitcher_id")
_LINEUP_FIELDS = (*_PLAYERS, "catcher_id", "on_first_id", "on_second_id", "on_third_id")
_COUNT_FIELDS = (
    "pa", "ab", "hit", "double", "triple", "homerun", "bb", "so", "hbp", "rbi", "run", "sb",
    "cs", "error",
)  # fmt: skip

# The source is another program's schema, not gamedb's: these reads are its only SQL, and
# they only read (the connection is read-only besides).
_TABLE_EXISTS = "SELECT to_regclass($1) IS NOT NULL"
_ALL_GAMES = "SELECT id FROM games ORDER BY id"
_SOME_GAMES = "SELECT id FROM games WHERE id = ANY($1::uuid[]) ORDER BY id"
_GAME_ROWS = {
    "games": "SELECT * FROM games WHERE id = $1",
    "lineups": "SELECT * FROM lineups WHERE game_id = $1 ORDER BY id",
    "plays": "SELECT * FROM plays WHERE game_id = $1 ORDER BY play_number",
    "roster_links": "SELECT * FROM roster_links WHERE game_id = $1 ORDER BY id",
    "rolls": "SELECT * FROM rolls WHERE game_id = $1 ORDER BY roll_id",
    "game_sessions": "SELECT * FROM game_sessions WHERE game_id = $1",
}

Outcome = Literal["imported", "present", "skipped"]

_LEAGUE: Argument[League] = Argument("league_id", League)
_STATUS: Argument[GameStatus] = Argument("status", GameStatus)
_GAME_MODE: Argument[GameMode] = Argument("game_mode", GameMode)
_VISIBILITY: Argument[GameVisibility] = Argument("visibility", GameVisibility)


class GameOutcome(BaseModel):
    """What became of one game: ``imported``, ``present`` (already in gamedb, left alone) or
    ``skipped`` (refused by gamedb's rules, ``reason`` says why); ``rows`` per table."""

    model_config = ConfigDict(frozen=True)

    game_id: uuid.UUID
    outcome: Outcome
    reason: str | None = None
    rows: dict[str, int] = {}


class ImportReport(BaseModel):
    """Every game the run looked at, and the totals (``--json`` prints this)."""

    source: str
    dry_run: bool
    games: list[GameOutcome] = []

    def _count(self, outcome: Outcome) -> int:
        return sum(1 for game in self.games if game.outcome == outcome)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def imported(self) -> int:
        return self._count("imported")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def present(self) -> int:
        return self._count("present")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rows(self) -> dict[str, int]:
        """Rows written (or, in a dry run, to be written) per table."""
        return {
            table: sum(game.rows.get(table, 0) for game in self.games if game.outcome == "imported")
            for table in TABLES
        }

    def table(self) -> str:
        """The report for a person: the skipped games with their reasons, then the totals."""
        verb = "would import" if self.dry_run else "imported"
        lines = [
            f"{game.game_id}  skipped: {game.reason}"
            for game in self.games
            if game.outcome == "skipped"
        ]
        if lines:
            lines.append("")
        totals = [
            (f"games {verb}", self.imported),
            ("games already in gamedb", self.present),
            ("games skipped", self.skipped),
            ("", None),
            (f"rows {verb}:", None),
            *((f"  {table}", count) for table, count in self.rows.items()),
        ]
        lines += [label if count is None else f"{label:<24}{count:>10,}" for label, count in totals]
        return "\n".join(lines)


_Play = tuple[PlayData, datetime.datetime | None]  # a play and when the old layer stored it


class _Dirty(Exception):
    """A game gamedb's rules refuse, with the reason."""


class _Game:
    """One source game, checked and ready to write (lineup ids still the old ones)."""

    __slots__ = ("game", "lineups", "plays", "rolls", "roster", "session")

    def __init__(
        self,
        game: dict[str, Any],
        lineups: list[dict[str, Any]],
        plays: list[_Play],
        roster: list[dict[str, Any]],
        rolls: list[RollRecord],
        session: dict[str, Any] | None,
    ) -> None:
        self.game = game
        self.lineups = lineups
        self.plays = plays
        self.roster = roster
        self.rolls = rolls
        self.session = session

    @property
    def rows(self) -> dict[str, int]:
        return {
            "games": 1,
            "lineups": len(self.lineups),
            "plays": len(self.plays),
            "roster_links": len(self.roster),
            "rolls": len(self.rolls),
            "game_sessions": 0 if self.session is None else 1,
        }


async def import_legacy(
    db: Database,
    source_url: str,
    *,
    game_ids: Sequence[uuid.UUID] | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Copy the games of the old layer's tables at ``source_url`` (all, or ``game_ids``) into
    ``db``; ``dry_run`` checks and counts without writing. ``on_progress(done, total)`` is
    called after each game. Raises :class:`ImportInterrupted` when the run cannot go on."""
    url = normalize_url(source_url)
    report = ImportReport(source=redact_url(url), dry_run=dry_run)
    with translating():
        source = await asyncpg.connect(
            url,
            server_settings={
                "default_transaction_read_only": "on",
                "application_name": "gamedb import-legacy",
            },
        )
    try:
        with translating(connection=source):
            tables = await _source_tables(source)
            wanted = list(dict.fromkeys(game_ids)) if game_ids is not None else None
            rows = await (
                source.fetch(_SOME_GAMES, wanted)
                if wanted is not None
                else source.fetch(_ALL_GAMES)
            )
            order = wanted if wanted is not None else [row["id"] for row in rows]
            for done, gid in enumerate(order, start=1):
                report.games.append(await _one_game(db, source, tables, gid, dry_run))
                if on_progress is not None:
                    on_progress(done, len(order))
    except LegacySchemaError:
        raise
    except GameDBError as exc:
        raise _interrupted(report, exc) from exc
    finally:
        source.terminate()  # read-only: nothing to finish, and the peer may be gone
    return report


def _interrupted(report: ImportReport, cause: GameDBError) -> ImportInterrupted:
    return ImportInterrupted(
        f"the import stopped after {len(report.games)} games: {cause} "
        "(each finished game is whole; run it again to resume)",
        report,
    )


async def _source_tables(source: asyncpg.Connection) -> frozenset[str]:
    present = set()
    for table in TABLES:
        if await source.fetchval(_TABLE_EXISTS, table):
            present.add(table)
        elif table not in _OPTIONAL_TABLES:
            raise LegacySchemaError(f"the source database has no table {table!r}")
    return frozenset(present)


async def _one_game(
    db: Database,
    source: asyncpg.Connection,
    tables: frozenset[str],
    gid: uuid.UUID,
    dry_run: bool,
) -> GameOutcome:
    # One snapshot of the game and its rows, should the old layer still be writing.
    async with source.transaction(isolation="repeatable_read", readonly=True):
        rows = {
            table: [_Row(table, row) for row in await source.fetch(query, gid)]
            if table in tables
            else []
            for table, query in _GAME_ROWS.items()
        }
    if not rows["games"]:
        return GameOutcome(game_id=gid, outcome="skipped", reason="not in the old layer's tables")
    try:
        game = _checked(rows["games"][0], rows)
    except (_Dirty, InvalidInput) as exc:
        return GameOutcome(game_id=gid, outcome="skipped", reason=str(exc))
    if dry_run:
        if await db.get_game(gid) is not None:
            return GameOutcome(game_id=gid, outcome="present")
        return GameOutcome(game_id=gid, outcome="imported", rows=game.rows)
    try:
        written = await db.run_in_transaction(lambda tx: _import_game(tx, game), game_id=gid)
    except (ConstraintViolation, InvalidInput) as exc:
        return GameOutcome(game_id=gid, outcome="skipped", reason=f"refused by gamedb: {exc}")
    if written is None:
        return GameOutcome(game_id=gid, outcome="present")
    return GameOutcome(game_id=gid, outcome="imported", rows=written)


class _Row:
    """A source row read by column name: a missing optional column gives its default."""

    __slots__ = ("_record", "_table")

    def __init__(self, table: str, record: asyncpg.Record) -> None:
        self._table = table
        self._record = record

    def required(self, column: str) -> Any:
        try:
            return self._record[column]
        except KeyError:
            raise LegacySchemaError(
                f"the source table {self._table!r} has no column {column!r}"
            ) from None

    def optional(self, column: str, default: Any = None) -> Any:
        return self._record.get(column, default)

    def json(self, column: str, default: Any = None) -> Any:
        value = self.optional(column, default)
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def moment(self, column: str) -> datetime.datetime | None:
        value = self.optional(column)
        if isinstance(value, datetime.datetime) and value.tzinfo is None:
            # A timestamp without time zone: the old layer wrote UTC.
            return value.replace(tzinfo=datetime.UTC)
        return value if isinstance(value, datetime.datetime) else None


def _checked(game: _Row, rows: Mapping[str, list[_Row]]) -> _Game:
    """The game as gamedb will store it, or :class:`_Dirty` naming the first rule it breaks."""
    gid: uuid.UUID = game.required("id")
    league = _LEAGUE(game.required("league_id"), gid)
    teams = (game.required("home_team_id"), game.required("away_team_id"))
    if teams[0] == teams[1]:
        raise _Dirty(f"home and away are the same team ({shown(teams[0])})")
    status = _STATUS(game.optional("status", "pending"), gid)
    completed_at = game.moment("completed_at")
    if (status is GameStatus.COMPLETED) != (completed_at is not None):
        raise _Dirty(
            "a completed game without completed_at"
            if completed_at is None
            else f"completed_at is set on a game whose status is {status}"
        )
    state = validate_input(
        GameState,
        {
            "inning": game.optional("current_inning", 1),
            "half": game.optional("current_half", "top"),
            "home_score": game.optional("home_score", 0),
            "away_score": game.optional("away_score", 0),
        },
        game_id=gid,
    )
    lineups = _checked_lineups(rows["lineups"], league, teams)
    plays = _checked_plays(gid, rows["plays"], {entry["id"] for entry in lineups})
    outs = 0
    last = plays[-1][0] if plays else None
    if last is not None and (last.inning, last.half) == (state.inning, state.half):
        # The old games table kept no outs: the last play of the current half inning has them.
        outs = last.outs_before + last.outs_recorded
        outs = outs if outs < 3 else 0
    return _Game(
        game={
            "id": gid,
            "league_id": league,
            "home_team_id": teams[0],
            "away_team_id": teams[1],
            "game_mode": _GAME_MODE(game.optional("game_mode", "friendly"), gid),
            "visibility": _VISIBILITY(game.optional("visibility", "public"), gid),
            "status": status,
            "current_inning": state.inning,
            "current_half": state.half,
            "outs": outs,
            "home_score": state.home_score,
            "away_score": state.away_score,
            "created_at": game.moment("created_at"),
            "completed_at": completed_at,
        },
        lineups=lineups,
        plays=plays,
        roster=_checked_roster(rows["roster_links"], league, teams),
        rolls=[_checked_roll(gid, row) for row in rows["rolls"]],
        session=_checked_session(gid, rows["game_sessions"]),
    )


def _person(row: _Row, what: str, league: League) -> tuple[int | None, int | None]:
    card, player = row.optional("card_id"), row.optional("player_id")
    if card is not None and player is not None:
        raise _Dirty(f"{what} holds a card ({card}) and a player ({player}) on one row")
    if card is None and player is None:
        raise _Dirty(f"{what} holds neither a card nor a player")
    if (league is League.PD) != (card is not None):
        held = f"card {card}" if card is not None else f"player {player}"
        raise _Dirty(f"{what} holds {held} in a {league.upper()} game")
    return card, player


def _checked_lineups(
    rows: list[_Row], league: League, teams: tuple[int, int]
) -> list[dict[str, Any]]:
    ids = {row.required("id") for row in rows}
    seen: dict[tuple[int, int | None, int | None], int] = {}
    lineups = []
    for row in rows:
        lineup_id = row.required("id")
        what = f"lineup {lineup_id}"
        card, player = _person(row, what, league)
        team = row.required("team_id")
        if team not in teams:
            raise _Dirty(f"{what}: team {shown(team)} does not play in this game")
        position = row.required("position")
        if position not in POSITIONS:
            raise _Dirty(f"{what}: position {shown(position)} is not one of {', '.join(POSITIONS)}")
        order = row.optional("batting_order")
        if order is not None and not 1 <= order <= 9:
            raise _Dirty(f"{what}: batting order {order} is not 1-9")
        replacing, after_play = row.optional("replacing_id"), row.optional("after_play")
        if replacing is not None and replacing not in ids:
            raise _Dirty(f"{what} replaces lineup {replacing}, which is not one of this game's")
        if (replacing is None) != (after_play is None) or (after_play or 0) < 0:
            raise _Dirty(f"{what}: replacing_id {replacing} with after_play {after_play}")
        twice = seen.setdefault((team, card, player), lineup_id)
        if twice != lineup_id:
            who = f"card {card}" if card is not None else f"player {player}"
            raise _Dirty(f"{who} is in team {team}'s lineup twice (lineups {twice}, {lineup_id})")
        lineups.append(
            {
                "id": lineup_id,
                "team_id": team,
                "card_id": card,
                "player_id": player,
                "position": position,
                "batting_order": order,
                "is_starter": row.optional("is_starter", True),
                "is_active": row.optional("is_active", True),
                "replacing_id": replacing,
                "after_play": after_play,
            }
        )
    return lineups


def _checked_plays(gid: uuid.UUID, rows: list[_Row], lineup_ids: set[int]) -> list[_Play]:
    plays = []
    for expected, row in enumerate(rows, start=1):
        number = row.required("play_number")
        if number != expected:
            raise _Dirty(
                f"play {expected} is missing (the plays go from {expected - 1} to {number})"
                if expected > 1
                else f"the plays start at {number}, not 1"
            )
        fields = {
            "game_id": gid,
            "play_number": number,
            "inning": row.required("inning"),
            "half": row.required("half"),
            "outs_before": row.optional("outs_before", 0),
            "outs_recorded": row.optional("outs_recorded", 0),
            "dice_roll": row.optional("dice_roll"),
            "result_description": row.optional("result_description"),
            "outcome": row.optional("outcome"),
            "away_score": row.optional("away_score", 0),
            "home_score": row.optional("home_score", 0),
            "complete": row.optional("complete", False),
            **{name: row.optional(name, 0) for name in _COUNT_FIELDS},
        }
        for name in _LINEUP_FIELDS:
            lineup = row.required(name) if name in _PLAYERS else row.optional(name)
            if lineup is not None and lineup not in lineup_ids:
                raise _Dirty(f"play {number}: {name} {lineup} is not one of this game's lineups")
            fields[name] = lineup
        try:
            plays.append((validate_input(PlayData, fields, game_id=gid), row.moment("created_at")))
        except InvalidInput as exc:
            raise _Dirty(f"play {number}: {exc}") from None
    return plays


def _checked_roster(
    rows: list[_Row], league: League, teams: tuple[int, int]
) -> list[dict[str, Any]]:
    seen: set[tuple[int | None, int | None]] = set()
    links = []
    for row in rows:
        what = f"roster link {row.optional('id', '')}".rstrip()
        card, player = _person(row, what, league)
        team = row.required("team_id")
        if team not in teams:
            raise _Dirty(f"{what}: team {shown(team)} does not play in this game")
        if (card, player) in seen:
            who = f"card {card}" if card is not None else f"player {player}"
            raise _Dirty(f"{who} is on the roster twice")
        seen.add((card, player))
        links.append({"team_id": team, "card_id": card, "player_id": player})
    return links


def _checked_roll(gid: uuid.UUID, row: _Row) -> RollRecord:
    roll_id = row.required("roll_id")
    fields = {
        "game_id": gid,
        "roll_id": roll_id,
        "roll_type": row.required("roll_type"),
        "play_number": row.optional("play_number"),
        "team_id": row.optional("team_id"),
        "player_id": row.optional("player_id"),
        "roll_data": row.json("roll_data"),
        "context": row.json("context"),
        "rolled_at": row.moment("rolled_at"),
    }
    try:
        return validate_input(RollRecord, fields, game_id=gid)
    except InvalidInput as exc:
        raise _Dirty(f"roll {shown(roll_id)}: {exc}") from None


def _checked_session(gid: uuid.UUID, rows: list[_Row]) -> dict[str, Any] | None:
    if not rows:
        return None
    row = rows[0]
    return {
        "connected_users": CONNECTED_USERS(row.json("connected_users", {}), gid),
        "state_snapshot": STATE_SNAPSHOT(row.json("state_snapshot"), gid),
        "last_action_at": row.moment("last_action_at"),
    }


async def _import_game(tx: Transaction, game: _Game) -> dict[str, int] | None:
    """Write one checked game in the caller's transaction; ``None`` when it is already here."""
    conn = tx.connection
    if await legacy.import_game(conn, **game.game) is None:
        return None
    gid: uuid.UUID = game.game["id"]
    new_ids = await legacy.allocate_lineup_ids(conn, count=len(game.lineups))
    remap = {entry["id"]: new for entry, new in zip(game.lineups, new_ids, strict=True)}
    lineups = [
        {
            **entry,
            "id": remap[entry["id"]],
            "replacing_id": remap.get(entry["replacing_id"]),
        }
        for entry in game.lineups
    ]
    plays = [
        {
            **play.model_copy(
                update={name: remap.get(getattr(play, name)) for name in _LINEUP_FIELDS}
            ).model_dump(mode="json"),
            "created_at": None if created_at is None else created_at.isoformat(),
        }
        for play, created_at in game.plays
    ]
    rows = {
        "games": 1,
        "lineups": await legacy.import_lineups(conn, lineups=json.dumps(lineups), game_id=gid),
        "plays": await legacy.import_plays(conn, plays=json.dumps(plays), game_id=gid),
        "roster_links": await legacy.import_roster_links(
            conn, links=json.dumps(game.roster), game_id=gid
        ),
        "rolls": await tx.save_rolls_batch(game.rolls),
        "game_sessions": 0,
    }
    if game.session is not None:
        rows["game_sessions"] = await legacy.import_session(conn, game_id=gid, **game.session)
    return rows
