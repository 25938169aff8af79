"""The one error hierarchy of gamedb, and the one place asyncpg errors are translated.

Every error gamedb raises is a :class:`GameDBError`; each carries the game it concerns
(``game_id``) when there is one, so a log line or a handler never has to guess::

    try:
        await db.save_play(play)
    except ConstraintViolation as exc:
        log.warning("play rejected: %s (game %s, %s)", exc, exc.game_id, exc.constraint)
"""

from __future__ import annotations

import ssl
import uuid

import asyncpg

__all__ = [
    "DRIVER_ERRORS",
    "ConfigurationError",
    "ConnectionFailed",
    "ConstraintViolation",
    "GameDBError",
    "GameNotFound",
    "InvalidInput",
    "PlayNotFound",
    "StaleState",
    "TransientError",
    "WrongLeague",
    "is_transient",
    "translate",
]


class GameDBError(Exception):
    """Root of every error gamedb raises."""

    def __init__(self, message: str, *, game_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.game_id = game_id


class ConfigurationError(GameDBError, ValueError):
    """A setting (``DATABASE_URL``, pool size, timeout) is malformed or out of range."""


class InvalidInput(GameDBError, ValueError):
    """An argument was rejected before it reached the database."""


class GameNotFound(GameDBError, LookupError):
    """No game with this id exists."""

    def __init__(self, game_id: uuid.UUID) -> None:
        super().__init__(f"game {game_id} does not exist", game_id=game_id)


class PlayNotFound(GameDBError, LookupError):
    """The game has no play with this number."""

    def __init__(self, game_id: uuid.UUID, play_number: int, last_play: int) -> None:
        super().__init__(
            f"game {game_id} has no play {play_number} (last play is {last_play})",
            game_id=game_id,
        )
        self.play_number = play_number
        self.last_play = last_play


class WrongLeague(GameDBError, ValueError):
    """A PD (card) call on an SBA game, or an SBA (player) call on a PD game."""

    def __init__(self, game_id: uuid.UUID, *, expected: str, actual: str) -> None:
        super().__init__(
            f"game {game_id} is a {actual} game; this call needs a {expected} game",
            game_id=game_id,
        )
        self.expected = expected
        self.actual = actual


class StaleState(GameDBError):
    """The game's state changed since the version the caller based its update on."""

    def __init__(self, game_id: uuid.UUID, *, expected_version: int) -> None:
        super().__init__(
            f"game {game_id} is no longer at state version {expected_version}",
            game_id=game_id,
        )
        self.expected_version = expected_version


class ConstraintViolation(GameDBError):
    """The database refused the write: a key, foreign key, check or not-null constraint."""

    def __init__(
        self,
        message: str,
        *,
        game_id: uuid.UUID | None = None,
        constraint: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message, game_id=game_id)
        self.constraint = constraint
        self.sqlstate = sqlstate


class TransientError(GameDBError):
    """The database could not be reached or gave up on the transaction; retries ran out."""


class ConnectionFailed(TransientError):
    """No connection to the database could be opened."""


_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03"})


DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
"""What asyncpg and the network raise: every one of them goes through :func:`translate`."""


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the whole transaction may succeed (see the reliability notes)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return (
            state in _TRANSIENT_SQLSTATES
            or state.startswith("08")
            or isinstance(exc, asyncpg.InvalidCachedStatementError)
        )
    if isinstance(exc, asyncpg.InterfaceError):
        return "another operation is in progress" not in str(exc)
    if isinstance(exc, asyncpg.exceptions.OutdatedSchemaCacheError):
        # A row type changed by a migration: asyncpg has dropped its stale copy already.
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # A pooled connection the server terminated while idle fails this way on next use.
        return "cannot switch to state" in str(exc)
    return isinstance(
        exc, (OSError, ConnectionError, TimeoutError, asyncpg.ConnectionDoesNotExistError)
    )


def translate(exc: BaseException, *, game_id: uuid.UUID | None = None) -> GameDBError:
    """Turn an asyncpg (or socket) error into gamedb's typed error; raise it ``from exc``."""
    if isinstance(exc, GameDBError):
        return exc
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        constraint = getattr(exc, "constraint_name", None)
        if game_id is not None and constraint is not None and constraint.endswith("_game_fkey"):
            return GameNotFound(game_id)
        detail = getattr(exc, "detail", None)
        text = getattr(exc, "message", None) or str(exc)
        text += f" ({detail})" if detail else ""
        return ConstraintViolation(
            f"rejected by {constraint or 'a constraint'}: {text}",
            game_id=game_id,
            constraint=constraint,
            sqlstate=exc.sqlstate,
        )
    if isinstance(exc, asyncpg.DataError):
        return InvalidInput(f"invalid value: {exc}", game_id=game_id)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigurationError(
            f"the server's TLS certificate was refused: {exc}", game_id=game_id
        )
    if isinstance(exc, asyncpg.InternalClientError) and not is_transient(exc):
        return GameDBError(f"database driver error: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.PostgresError) and not is_transient(exc):
        return GameDBError(f"database error {exc.sqlstate}: {exc}", game_id=game_id)
    if isinstance(exc, (OSError, ConnectionError)) and not isinstance(exc, TimeoutError):
        return ConnectionFailed(f"cannot reach the database: {exc}", game_id=game_id)
    return TransientError(f"database unavailable: {type(exc).__name__}: {exc}", game_id=game_id)
