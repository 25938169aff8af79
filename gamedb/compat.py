"""The old SQLAlchemy layer's ``DatabaseOperations``: its documented calls run unchanged.

The engine switches by importing this class instead of the old one; nothing else changes::

    from gamedb.compat import DatabaseOperations

    class StateManager:
        def __init__(self) -> None:
            self.db_ops = DatabaseOperations()   # synchronous; the pool opens on first use

    await db_ops.update_game_state(game_id, 3, "bottom", 2, 1)
    data = await db_ops.load_game_state(game_id)
    league = data["game"]["league_id"]

Every call of :class:`gamedb.Database` is here under the same name and arguments. What the
typed API does differently, this class does the old way: it is built synchronously with no
arguments and opens its pool from ``DATABASE_URL`` (or ``.env``) on first use; a missing game
raises :class:`UnknownGame`, which the old ``except ValueError`` catches; ``get_pitcher_stats``
answers a dict; a play without a score carries over the previous play's; and
``remove_roster_entry`` takes the roster id alone.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from gamedb.database import Database, Transaction
from gamedb.errors import ConfigurationError, GameNotFound, UnknownGame
from gamedb.models import GAME_ID, PLAY_NUMBER, ROSTER_ID
from gamedb.operations import Operations
from gamedb.settings import Settings
from gamedb_gen import legacy

__all__ = ["DatabaseOperations", "UnknownGame"]

T = TypeVar("T")

# What the old plays table stored for a column the play dict left out (the scores aside:
# those carry over from the previous play).
_OLD_PLAY_DEFAULTS: dict[str, Any] = {"outs_before": 0, "complete": False}
_SCORES = ("away_score", "home_score")


class DatabaseOperations:
    """The old layer's operations object over a lazily opened :class:`gamedb.Database`."""

    __slots__ = ("_db", "_opening", "_url")

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._db: Database | None = None
        self._opening = asyncio.Lock()

    async def database(self) -> Database:
        """The :class:`gamedb.Database` underneath, opened on first use from ``url`` or
        ``DATABASE_URL`` (the old layer had no embedded server: one of them must be set)."""
        if self._db is None:
            async with self._opening:
                if self._db is None:
                    settings = Settings.load(**({"database_url": self._url} if self._url else {}))
                    if settings.database_url is None:
                        raise ConfigurationError("DATABASE_URL is not set (environment or .env)")
                    self._db = await Database.connect(settings=settings)
        return self._db

    async def close(self) -> None:
        """Close the pool, if it was opened; the next call opens it again."""
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        # Every other operation runs as gamedb's, with a missing game raised the old way.
        if name.startswith("_") or not inspect.iscoroutinefunction(getattr(Operations, name, None)):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        async def call(*args: Any, **kwargs: Any) -> Any:
            db = await self.database()
            return await _old_errors(getattr(db, name)(*args, **kwargs))

        call.__name__ = call.__qualname__ = name
        return call

    async def save_play(self, play_data: Mapping[str, Any]) -> int:
        """Store a play dict of the old shape; returns its id. A column it leaves out gets
        what the old table stored for it, and a missing score the previous play's (0 before
        the first play)."""
        db = await self.database()
        if not isinstance(play_data, Mapping):
            return await _old_errors(db.save_play(play_data))
        play = {**_OLD_PLAY_DEFAULTS, **play_data}
        if all(score in play for score in _SCORES):
            return await _old_errors(db.save_play(play))
        gid = GAME_ID(play.get("game_id"))
        number = PLAY_NUMBER(play.get("play_number"), gid)

        async def work(tx: Transaction) -> int:
            previous = await legacy.get_play_score(
                tx.connection, game_id=gid, play_number=number - 1
            )
            for score in _SCORES:
                play.setdefault(score, getattr(previous, score) if previous else 0)
            return await tx.save_play(play)

        return await _old_errors(db.run_in_transaction(work, game_id=gid))

    async def get_pitcher_stats(self, game_id: uuid.UUID, lineup_id: int) -> dict[str, int]:
        """The pitcher's ``outs``, ``hits_allowed``, ``walks`` and ``strikeouts``; zeros for a
        pitcher who has not pitched."""
        db = await self.database()
        lines = await _old_errors(db.get_pitcher_stats(game_id, lineup_id))
        line = lines[0] if lines else None
        return {
            "outs": line.outs if line else 0,
            "hits_allowed": line.hits_allowed if line else 0,
            "walks": line.walks if line else 0,
            "strikeouts": line.strikeouts if line else 0,
        }

    async def remove_roster_entry(self, roster_id: int) -> bool:
        """Remove one roster link by its id; ``False`` when it was not there."""
        ROSTER_ID(roster_id)
        db = await self.database()

        async def work(tx: Transaction) -> bool:
            game_id = await legacy.get_roster_entry_game(tx.connection, id=roster_id)
            return game_id is not None and await tx.remove_roster_entry(game_id, roster_id)

        return await _old_errors(db.run_in_transaction(work))


async def _old_errors(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except UnknownGame:
        raise
    except GameNotFound as exc:
        if exc.game_id is None:
            raise
        raise UnknownGame(exc.game_id) from exc
