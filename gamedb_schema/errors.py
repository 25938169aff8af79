"""The root of gamedb's error hierarchy, and the errors of the schema tooling.

They live here, below ``gamedb``, because the tooling that migrates and dumps the schema
(:mod:`gamedb_schema.dbmate`, used by the code generator too) raises them; :mod:`gamedb.errors`
builds every other error on :class:`GameDBError` and re-exports these::

    try:
        normalize_url(url)
    except ConfigurationError as exc:
        print(f"bad DATABASE_URL: {exc}")
"""

from __future__ import annotations

import uuid

__all__ = ["ConfigurationError", "GameDBError", "MigrationError"]


class GameDBError(Exception):
    """Root of every error gamedb raises."""

    def __init__(self, message: str, *, game_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.game_id = game_id


class ConfigurationError(GameDBError, ValueError):
    """A setting (``DATABASE_URL``, pool size, timeout) is malformed or out of range."""


class MigrationError(GameDBError):
    """Migrating failed: dbmate's or pg_dump's complaint (without the password), another
    migrator holding the lock too long, or a database that is not migrated. When dbmate
    reported a server error, ``__cause__`` is asyncpg's exception of its SQLSTATE."""
