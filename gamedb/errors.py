"""The one error hierarchy of gamedb, and the one place asyncpg errors are translated.

Every error gamedb raises is a :class:`GameDBError`; each carries the game it concerns
(``game_id``) when there is one, so a log line or a handler never has to guess::

    try:
        await db.save_play(play)
    except ConstraintViolation as exc:
        log.warning("play rejected: %s (game %s, %s)", exc, exc.game_id, exc.constraint)
"""

from __future__ import annotations

import re
import ssl
import uuid

import asyncpg

from gamedb_schema.errors import ConfigurationError, GameDBError

__all__ = [
    "DRIVER_ERRORS",
    "AuthenticationFailed",
    "ConfigurationError",
    "ConnectionFailed",
    "ConstraintViolation",
    "DatabaseNotFound",
    "GameDBError",
    "GameNotFound",
    "InvalidInput",
    "PlayNotFound",
    "PoolTimeout",
    "StaleState",
    "StatementTimeout",
    "TLSRefused",
    "TransientError",
    "UsageError",
    "WrongLeague",
    "is_transient",
    "translate",
]


class AuthenticationFailed(ConfigurationError):
    """The server refused the login: a wrong password, or no such role (SQLSTATE 28xxx)."""


class DatabaseNotFound(ConfigurationError):
    """The server has no database of the name ``DATABASE_URL`` gives (SQLSTATE 3D000)."""


class TLSRefused(ConfigurationError):
    """The TLS handshake failed: the server refused TLS, or its certificate was not trusted."""


class UsageError(GameDBError, RuntimeError):
    """gamedb was used wrongly: a closed :class:`~gamedb.Database`, a transaction used after
    its block or by two tasks at once. A bug in the caller; never retried."""


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


class PoolTimeout(TransientError):
    """No pooled connection came free within ``DB_POOL_TIMEOUT``: every connection is busy
    (or held by the caller itself, e.g. inside ``db.transaction()``). Not retried by gamedb,
    since the wait already took that long."""


class StatementTimeout(TransientError, TimeoutError):
    """The server cancelled a statement that ran longer than ``DB_STATEMENT_TIMEOUT``. Not
    retried by gamedb (the same statement would likely run as long again); it may succeed
    later, e.g. once a lock it waited for is free."""


_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03"})
# A Citus coordinator reports a connection to a worker it lost (the worker restarting, its
# backend terminated) as an internal error (XX000) carrying the worker's words.
_LOST_WORKER_CONNECTION = (
    "terminating connection due to administrator command",
    "connection to the remote node",
    "server closed the connection unexpectedly",
    "connection not open",
)


DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
"""What asyncpg and the network raise: every one of them goes through :func:`translate`."""


_MISUSE_MESSAGES = (
    "another operation is in progress",
    "pool is closed",
    "pool is closing",
)
"""asyncpg ``InterfaceError`` texts that report a bug in the caller, not a lost connection."""


def _is_misuse(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.InterfaceError) and any(
        text in str(exc) for text in _MISUSE_MESSAGES
    )


def _refused_tls(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLError) or (
        isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc)
    )


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the whole transaction may succeed (see the reliability notes)."""
    if _refused_tls(exc):
        return False
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return (
            state in _TRANSIENT_SQLSTATES
            or state.startswith("08")
            or (state == "XX000" and any(words in str(exc) for words in _LOST_WORKER_CONNECTION))
            or isinstance(exc, asyncpg.InvalidCachedStatementError)
        )
    if isinstance(exc, asyncpg.InterfaceError):
        return not _is_misuse(exc)
    if isinstance(exc, asyncpg.exceptions.OutdatedSchemaCacheError):
        # A row type changed by a migration: asyncpg has dropped its stale copy already.
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # A pooled connection the server terminated while idle fails this way on next use.
        return "cannot switch to state" in str(exc)
    return isinstance(
        exc, (OSError, ConnectionError, TimeoutError, asyncpg.ConnectionDoesNotExistError)
    )


# Citus relays a worker's error without its constraint field, and names the shard's copy of
# the constraint: "plays_batter_fkey_102131" for plays_batter_fkey.
_RELAYED_CONSTRAINT = re.compile(r'constraint "(?P<name>[^"]+?)(?:_\d+)?"')


def _constraint_name(exc: asyncpg.IntegrityConstraintViolationError) -> str | None:
    named: str | None = getattr(exc, "constraint_name", None)
    if named is not None:
        return named
    relayed = _RELAYED_CONSTRAINT.search(getattr(exc, "message", None) or str(exc))
    return relayed["name"] if relayed else None


def translate(exc: BaseException, *, game_id: uuid.UUID | None = None) -> GameDBError:
    """Turn an asyncpg (or socket) error into gamedb's typed error; raise it ``from exc``."""
    if isinstance(exc, GameDBError):
        return exc
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        constraint = _constraint_name(exc)
        if constraint == _ROLL_PLAY_GUARD:
            return _roll_for_missing_play(exc)
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
        return TLSRefused(f"the server's TLS certificate was refused: {exc}", game_id=game_id)
    if _refused_tls(exc):
        return TLSRefused(f"the TLS handshake with the server failed: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return AuthenticationFailed(
            f"the server refused the login ({exc.sqlstate}): {exc}", game_id=game_id
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return DatabaseNotFound(f"no such database: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.QueryCanceledError) and "statement timeout" in str(exc):
        return StatementTimeout(
            f"the statement ran longer than DB_STATEMENT_TIMEOUT and was cancelled: {exc}",
            game_id=game_id,
        )
    if _is_misuse(exc):
        return UsageError(f"gamedb used wrongly: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.InternalClientError) and not is_transient(exc):
        return GameDBError(f"database driver error: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.PostgresError) and not is_transient(exc):
        return GameDBError(f"database error {exc.sqlstate}: {exc}", game_id=game_id)
    if isinstance(exc, (OSError, ConnectionError)) and not isinstance(exc, TimeoutError):
        return ConnectionFailed(f"cannot reach the database: {exc}", game_id=game_id)
    return TransientError(f"database unavailable: {type(exc).__name__}: {exc}", game_id=game_id)


_ROLL_PLAY_GUARD = "rolls_play_stored"
"""The check (a trigger of the schema) that a roll is for a stored play or the next one."""
_ROLL_PLAY_DETAIL = re.compile(
    r"game (?P<game>[0-9a-f-]{36}) play (?P<play>\d+) last (?P<last>\d+)"
)


def _roll_for_missing_play(exc: asyncpg.PostgresError) -> GameDBError:
    found = _ROLL_PLAY_DETAIL.fullmatch(getattr(exc, "detail", None) or "")
    if found is None:
        return ConstraintViolation(str(exc), constraint=_ROLL_PLAY_GUARD, sqlstate=exc.sqlstate)
    # A roll for play n needs play n - 1 stored (plays are numbered without gaps).
    return PlayNotFound(uuid.UUID(found["game"]), int(found["play"]) - 1, int(found["last"]))
