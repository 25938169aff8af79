"""gamedb: typed, async PostgreSQL persistence for the baseball game engine.

from gamedb import Database

async with await Database.connect() as db:
    game = await db.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from gamedb.payloads import RollData
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

# Exports load on first use, so the schema tooling (gamedb.migrate, gamedb.embedded) works
# before gamedb_gen has been generated.
_EXPORTS: dict[str, str] = {
    "AuthenticationFailed": "gamedb.errors",
    "BatterLine": "gamedb.models",
    "BoxScore": "gamedb.models",
    "CloseReport": "gamedb.persister",
    "ConfigurationError": "gamedb.errors",
    "ConnectionFailed": "gamedb.errors",
    "ConstraintViolation": "gamedb.errors",
    "Database": "gamedb.database",
    "DatabaseNotFound": "gamedb.errors",
    "DatabaseOperations": "gamedb.compat",
    "Game": "gamedb_gen.models",
    "GameDBError": "gamedb.errors",
    "GameMode": "gamedb_gen.models",
    "GameNotFound": "gamedb.errors",
    "GamePersister": "gamedb.persister",
    "GameSession": "gamedb_gen.models",
    "GameSnapshot": "gamedb.models",
    "GameState": "gamedb.models",
    "GameStatus": "gamedb_gen.models",
    "GameVisibility": "gamedb_gen.models",
    "Half": "gamedb_gen.models",
    "InvalidInput": "gamedb.errors",
    "Isolation": "gamedb.database",
    "League": "gamedb_gen.models",
    "Lineup": "gamedb_gen.models",
    "PdRosterLinkData": "gamedb.models",
    "PersisterClosed": "gamedb.persister",
    "PersisterMetrics": "gamedb.persister",
    "PitcherLine": "gamedb.models",
    "Play": "gamedb_gen.models",
    "PlayData": "gamedb.models",
    "PlayNotFound": "gamedb.errors",
    "PoolTimeout": "gamedb.errors",
    "RecordedPlay": "gamedb.models",
    "Roll": "gamedb_gen.models",
    "RollData": "gamedb.payloads",
    "RollRecord": "gamedb.models",
    "RollbackResult": "gamedb.models",
    "RosterLink": "gamedb_gen.models",
    "SbaRosterLinkData": "gamedb.models",
    "Settings": "gamedb.settings",
    "StaleState": "gamedb.errors",
    "StateChange": "gamedb.models",
    "StateUpdate": "gamedb.models",
    "StatementTimeout": "gamedb.errors",
    "StreamStopped": "gamedb.persister",
    "TLSRefused": "gamedb.errors",
    "Transaction": "gamedb.database",
    "TransientError": "gamedb.errors",
    "UnwrittenWrite": "gamedb.persister",
    "UsageError": "gamedb.errors",
    "WriteHandle": "gamedb.persister",
    "WriteKind": "gamedb.persister",
    "WrongLeague": "gamedb.errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gamedb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
