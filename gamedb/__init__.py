"""gamedb: typed, async PostgreSQL persistence for the baseball game engine.

from gamedb import Database

async with await Database.connect() as db:
    game = await db.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
"""

from __future__ import annotations

from gamedb.compat import DatabaseOperations
from gamedb.database import Database, Isolation, Transaction
from gamedb.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    ConstraintViolation,
    DatabaseNotFound,
    GameDBError,
    GameNotFound,
    InvalidInput,
    PlayNotFound,
    PoolTimeout,
    StaleState,
    StatementTimeout,
    TLSRefused,
    TransientError,
    UsageError,
    WrongLeague,
)
from gamedb.models import (
    BatterLine,
    BoxScore,
    GameSnapshot,
    GameState,
    PdRosterLinkData,
    PitcherLine,
    PlayData,
    RecordedPlay,
    RollbackResult,
    RollRecord,
    SbaRosterLinkData,
    StateChange,
    StateUpdate,
)
from gamedb.persister import (
    CloseReport,
    GamePersister,
    PersisterClosed,
    PersisterMetrics,
    StreamStopped,
    UnwrittenWrite,
    WriteHandle,
    WriteKind,
)
from gamedb.settings import Settings
from gamedb_gen.models import (
    Game,
    GameMode,
    GameSession,
    GameStatus,
    GameVisibility,
    Half,
    League,
    Lineup,
    Play,
    Roll,
    RosterLink,
)
from gamedb_schema.payloads import RollData

__all__ = [
    "AuthenticationFailed",
    "BatterLine",
    "BoxScore",
    "CloseReport",
    "ConfigurationError",
    "ConnectionFailed",
    "ConstraintViolation",
    "Database",
    "DatabaseNotFound",
    "DatabaseOperations",
    "Game",
    "GameDBError",
    "GameMode",
    "GameNotFound",
    "GamePersister",
    "GameSession",
    "GameSnapshot",
    "GameState",
    "GameStatus",
    "GameVisibility",
    "Half",
    "InvalidInput",
    "Isolation",
    "League",
    "Lineup",
    "PdRosterLinkData",
    "PersisterClosed",
    "PersisterMetrics",
    "PitcherLine",
    "Play",
    "PlayData",
    "PlayNotFound",
    "PoolTimeout",
    "RecordedPlay",
    "Roll",
    "RollData",
    "RollRecord",
    "RollbackResult",
    "RosterLink",
    "SbaRosterLinkData",
    "Settings",
    "StaleState",
    "StateChange",
    "StateUpdate",
    "StatementTimeout",
    "StreamStopped",
    "TLSRefused",
    "Transaction",
    "TransientError",
    "UnwrittenWrite",
    "UsageError",
    "WriteHandle",
    "WriteKind",
    "WrongLeague",
]
