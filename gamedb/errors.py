"""Every error gamedb raises, and the one place driver errors become gamedb's.

Every error is a :class:`GameDBError` and carries the game it concerns (``game_id``) when there
is one, so a log line or a handler never has to guess. The root and the families a caller
catches whole end in ``Error`` (:class:`ConfigurationError`, :class:`TransientError`,
:class:`UsageError`, :class:`MigrationError`, :class:`LegacySchemaError`, each also raised for
the cases of its family no subclass names); every other class names what happened
(:class:`GameNotFound`, :class:`ConnectionFailed`, :class:`StreamStopped`, ...)::

    try:
        await db.save_play(play)
    except ConstraintViolation as exc:
        log.warning("play rejected: %s (game %s, %s)", exc, exc.game_id, exc.constraint)

The root, :class:`ConfigurationError` and :class:`MigrationError` are defined in
:mod:`gamedb_schema.errors`, beneath this package, because the schema tooling there (which
the code generator runs without ``gamedb``) raises them; they are re-exported here.

What asyncpg and the network raise is translated by :func:`translating`, which also decides
what is worth retrying (:func:`is_transient`)::

    with translating(game_id=gid, connection=conn):
        await conn.execute("...")
"""

from __future__ import annotations

import re
import ssl
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import asyncpg

from gamedb_schema.errors import ConfigurationError, GameDBError, MigrationError

if TYPE_CHECKING:
    from gamedb.legacy import ImportReport

__all__ = [
    "DRIVER_ERRORS",
    "AuthenticationFailed",
    "ConfigurationError",
    "ConnectionFailed",
    "ConstraintViolation",
    "DatabaseNotFound",
    "GameDBError",
    "GameNotFound",
    "ImportInterrupted",
    "InvalidInput",
    "LegacySchemaError",
    "MigrationError",
    "PersisterClosed",
    "PlayNotFound",
    "PoolTimeout",
    "StaleState",
    "StatementTimeout",
    "StreamStopped",
    "TLSRefused",
    "TransientError",
    "UnknownGame",
    "UsageError",
    "WrongLeague",
    "is_transient",
    "translate",
    "translating",
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


# ---- what an operation refuses ---------------------------------------------------------------


class InvalidInput(GameDBError, ValueError):
    """An argument was rejected before it reached the database."""


class GameNotFound(GameDBError, LookupError):
    """No game with this id exists."""

    def __init__(self, game_id: uuid.UUID) -> None:
        super().__init__(f"game {game_id} does not exist", game_id=game_id)


class UnknownGame(GameNotFound, ValueError):
    """No game with this id exists: the :class:`GameNotFound` of
    :class:`gamedb.compat.DatabaseOperations`, which the old layer's callers catch as the
    ``ValueError`` it raised."""


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


# ---- the database unreachable ----------------------------------------------------------------


class TransientError(GameDBError):
    """The database could not be reached or gave up on the transaction; retries ran out."""


class ConnectionFailed(TransientError):
    """No connection to the database could be opened, or the one in use was lost."""


class PoolTimeout(TransientError):
    """No pooled connection came free within ``DB_POOL_TIMEOUT``: every connection is busy
    (or held by the caller itself, e.g. inside ``db.transaction()``). Not retried by gamedb,
    since the wait already took that long."""


class StatementTimeout(TransientError, TimeoutError):
    """The server cancelled a statement that ran longer than ``DB_STATEMENT_TIMEOUT``. Not
    retried by gamedb (the same statement would likely run as long again); it may succeed
    later, e.g. once a lock it waited for is free."""


# ---- the write-behind persister --------------------------------------------------------------


class StreamStopped(GameDBError):
    """An earlier write of the game failed permanently, so this one was not written (or was
    refused at hand-off); ``cause`` is that earlier failure."""

    def __init__(self, game_id: uuid.UUID, cause: GameDBError) -> None:
        super().__init__(
            f"game {game_id}: write stream stopped after earlier failure: {cause}",
            game_id=game_id,
        )
        self.cause = cause


class PersisterClosed(GameDBError):
    """The persister is closed, or closed before this write could be committed."""

    def __init__(
        self, message: str, *, game_id: uuid.UUID | None = None, in_flight: bool = False
    ) -> None:
        super().__init__(message, game_id=game_id)
        self.in_flight = in_flight


# ---- schema and import tooling ---------------------------------------------------------------


class LegacySchemaError(GameDBError):
    """The old layer's source database lacks a table or a column gamedb cannot do without."""


class ImportInterrupted(GameDBError):
    """The run stopped part-way (the source or gamedb went away); :attr:`report` holds the
    games it finished. Each of those is whole, the game in flight left nothing: run again."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


# ---- translation -----------------------------------------------------------------------------

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
"""What asyncpg and the network raise: every one of them goes through :func:`translate`."""

_RETRIED_SERVER_ERRORS: tuple[type[asyncpg.PostgresError], ...] = (
    # PostgreSQL asks for the whole transaction to be run again (§13.5).
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    # lock_timeout: the lock may be free on the next attempt.
    asyncpg.LockNotAvailableError,
    # The server shutting down, recovering from a crash, starting, or out of connections.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # SQLSTATE class 08, asyncpg's ConnectionDoesNotExistError among them.
    asyncpg.PostgresConnectionError,
    # A cached plan whose result type a migration changed: asyncpg prepares it again by itself
    # only outside a transaction.
    asyncpg.InvalidCachedStatementError,
    # PostgreSQL's unclassified internal error, which is also how a Citus coordinator relays
    # a worker connection it lost (with no SQLSTATE of the worker's to tell it apart).
    asyncpg.InternalServerError,
)


class _Connection(Protocol):
    def is_closed(self) -> bool: ...


class translating:
    """The one place driver errors become gamedb's: a driver error escaping the block is
    raised as :func:`translate` makes it, ``from`` the driver's; gamedb's own errors and
    everything else pass unchanged. With ``connection``, a client-side error on a connection
    that is closed afterwards is its loss (:class:`ConnectionFailed`, retried), not a misuse::

        with translating(game_id=gid, connection=conn):
            await conn.execute("...")
    """

    __slots__ = ("_connection", "_game_id")

    def __init__(
        self, *, game_id: uuid.UUID | None = None, connection: _Connection | None = None
    ) -> None:
        self._game_id = game_id
        self._connection = connection

    def watch(self, connection: _Connection) -> None:
        """Judge a client-side error by ``connection`` from now on (one acquired inside the
        block)."""
        self._connection = connection

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, GameDBError) or not isinstance(exc, DRIVER_ERRORS):
            return
        lost = self._connection is not None and _closed(self._connection)
        raise translate(exc, game_id=self._game_id, connection_lost=lost) from exc


def _closed(connection: _Connection) -> bool:
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:  # a pooled connection released already: not lost
        return False


def is_transient(exc: BaseException) -> bool:
    """Whether running the whole transaction again may succeed: a :class:`TransientError`
    (or a driver error :func:`translate` makes one), except a full pool or a statement
    timeout, which took their whole time already (see the reliability notes)."""
    if not isinstance(exc, GameDBError):
        if not isinstance(exc, DRIVER_ERRORS):
            return False
        exc = translate(exc)
    return isinstance(exc, TransientError) and not isinstance(exc, (PoolTimeout, StatementTimeout))


def translate(
    exc: BaseException, *, game_id: uuid.UUID | None = None, connection_lost: bool = False
) -> GameDBError:
    """gamedb's typed error for an asyncpg (or socket) error, decided by the driver's class;
    ``connection_lost`` says the connection it happened on is closed. Raise it ``from exc``
    (:func:`translating` does)."""
    if isinstance(exc, GameDBError):
        return exc
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return _refused_by_constraint(exc, game_id)
    if isinstance(exc, asyncpg.DataError):
        return InvalidInput(f"invalid value: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.ClientConfigurationError):
        return ConfigurationError(f"the driver refused a setting: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError):
        return InvalidInput(f"the driver refused a value: {exc}", game_id=game_id)
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
    if isinstance(exc, asyncpg.QueryCanceledError):
        # gamedb cancels nothing on the server (a call without a reply fails in the client).
        return StatementTimeout(
            "the server cancelled the statement: it ran longer than DB_STATEMENT_TIMEOUT "
            f"(or an operator cancelled it): {exc}",
            game_id=game_id,
        )
    if isinstance(exc, _RETRIED_SERVER_ERRORS):
        return TransientError(f"database unavailable: {type(exc).__name__}: {exc}", game_id=game_id)
    if isinstance(exc, asyncpg.PostgresError):
        return GameDBError(f"database error {exc.sqlstate}: {exc}", game_id=game_id)
    if connection_lost:
        return ConnectionFailed(
            f"the connection to the database was lost: {type(exc).__name__}: {exc}",
            game_id=game_id,
        )
    if isinstance(exc, asyncpg.InterfaceError):
        return UsageError(f"gamedb used wrongly: {exc}", game_id=game_id)
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
        return ConnectionFailed(f"cannot reach the database: {exc}", game_id=game_id)
    # A call without a reply in DB_COMMAND_TIMEOUT, or asyncpg's protocol state broken (as
    # on the first use of a pooled connection the server terminated while it was idle).
    return TransientError(f"database unavailable: {type(exc).__name__}: {exc}", game_id=game_id)


def _refused_tls(exc: BaseException) -> bool:
    # asyncpg reports a server that answers "no TLS" to sslmode=require with a plain
    # ConnectionError: its text is the only sign.
    return isinstance(exc, ssl.SSLError) or (
        isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc)
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


def _refused_by_constraint(
    exc: asyncpg.IntegrityConstraintViolationError, game_id: uuid.UUID | None
) -> GameDBError:
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
