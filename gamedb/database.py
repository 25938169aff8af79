"""The connection pool, and the transactions every operation runs in.

    async with await Database.connect() as db:          # DATABASE_URL
        game = await db.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
        async with db.transaction() as tx:              # several operations, one transaction
            await tx.add_sba_lineup_player(game_id=gid, team_id=1, player_id=101, position="P")
            await tx.save_play(play)

Each operation called on :class:`Database` is retried on transient failures by
:func:`gamedb.retry.retrying`, its driver errors translated by
:func:`gamedb.errors.translating`: one of several writes that stand or fall together runs in
a transaction of its own, any other runs its statements on a pooled connection, each atomic
by itself (a read that explains a refused write comes after it). Operations called on the
:class:`Transaction` of ``db.transaction()`` share its connection and commit together when
the block exits normally, or roll back together when it raises. A block cannot be re-run for
you: use :meth:`Database.run_in_transaction` for a retried multi-operation transaction. Wraps
:func:`asyncpg.create_pool` and :meth:`asyncpg.Connection.transaction`.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gamedb import delegation
from gamedb.errors import (
    DRIVER_ERRORS,
    ConfigurationError,
    ConnectionFailed,
    GameDBError,
    InvalidInput,
    PoolTimeout,
    TransientError,
    UsageError,
    translating,
)
from gamedb.operations import Operations
from gamedb.retry import RetryPolicy, log_success, retrying
from gamedb.settings import Settings
from gamedb_gen import Executor, admin, citus, register_codecs
from gamedb_schema.urls import redact_url

__all__ = ["Database", "Isolation", "Transaction"]

T = TypeVar("T")
Isolation = Literal["read_committed", "repeatable_read", "serializable"]
_ISOLATIONS = ("read_committed", "repeatable_read", "serializable")
log = logging.getLogger("gamedb")


def _checked_isolation(isolation: object) -> Isolation:
    if isolation == "read_committed":
        return "read_committed"
    if isolation == "repeatable_read":
        return "repeatable_read"
    if isolation == "serializable":
        return "serializable"
    raise InvalidInput(f"isolation must be one of {', '.join(_ISOLATIONS)}, got {isolation!r}")


class Transaction(Operations):
    """Operations sharing one connection and one transaction; made by ``db.transaction()``."""

    __slots__ = ("_busy", "_calls", "_conn", "_ended", "_executor", "_rerun")

    def __init__(
        self,
        conn: PoolConnectionProxy,
        *,
        delegated_calls: Mapping[str, str] | None = None,
        rerun: bool = False,
    ) -> None:
        self._conn = conn
        self._calls = delegated_calls
        self._executor = delegation.executor(conn, delegated_calls)
        self._rerun = rerun
        self._busy = False
        self._ended = False

    def _end(self) -> None:
        self._ended = True

    @property
    def _is_rerun(self) -> bool:
        return self._rerun

    @property
    def _on_citus(self) -> bool:
        return self._calls is not None

    @property
    def connection(self) -> Executor:
        """The transaction's connection, for calling ``gamedb_gen`` functions directly."""
        return self._conn

    async def _run(
        self,
        game_id: uuid.UUID | None,
        operation: Callable[[Executor], Awaitable[T]],
        *,
        atomic: bool = False,
    ) -> T:
        # Both are bugs of the caller that asyncpg would report as a lost connection.
        if self._ended:
            raise UsageError(
                "the transaction is over: use it only inside its block", game_id=game_id
            )
        if self._busy:
            raise UsageError(
                "the transaction is running another operation: await each one before the next",
                game_id=game_id,
            )
        started = time.perf_counter()
        self._busy = True
        try:
            with translating(game_id=game_id, connection=self._conn):
                result = await operation(self._executor)
        except GameDBError as error:
            log.debug("%s failed in a transaction (game %s): %s", _name(operation), game_id, error)
            raise
        finally:
            self._busy = False
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s game=%s %.3f ms",
                _name(operation),
                game_id,
                (time.perf_counter() - started) * 1000,
            )
        return result


class Database(Operations):
    """A pool of connections to one gamedb database, and every operation on it."""

    __slots__ = ("_calls", "_closed", "_pool", "_retry", "_settings", "_url")

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        url: str,
        settings: Settings,
        retry: RetryPolicy,
        delegated_calls: Mapping[str, str] | None = None,
    ) -> None:
        """``delegated_calls`` (:func:`gamedb.delegation.delegated_calls`) says the database
        is distributed over Citus; ``None`` is a single server."""
        self._pool = pool
        self._calls = delegated_calls
        self._url = url
        self._settings = settings
        self._retry = retry
        self._closed = False

    @property
    def _on_citus(self) -> bool:
        return self._calls is not None

    def __repr__(self) -> str:
        return f"<gamedb.Database {redact_url(self._url)} max_connections={self.max_connections}>"

    @classmethod
    async def connect(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
        migrate: bool | None = None,
        **overrides: Any,
    ) -> Database:
        """Open the pool. ``url`` (or ``DATABASE_URL``) names the database; without either,
        :class:`ConfigurationError`, unless ``GAMEDB_EMBEDDED=1`` (or ``gamedb_embedded=True``)
        chooses the embedded server, whose database gamedb migrates (``migrate`` forces
        migrating, or not, either way). ``overrides`` are :class:`Settings` fields, e.g.
        ``db_pool_size=4``; any other name raises :class:`ConfigurationError`.
        """
        _check_setting_names(overrides)
        if settings is None:
            settings = Settings.load(**({"database_url": url} if url else {}), **overrides)
        elif url or overrides:
            settings = Settings.load(
                **{**settings.model_dump(), **overrides, **({"database_url": url} if url else {})}
            )
        if settings.database_url is not None:
            dsn = settings.database_url.get_secret_value()
            should_migrate = bool(migrate)
        elif settings.gamedb_embedded:
            from gamedb_schema.embedded import embedded_database_url

            dsn = embedded_database_url()
            should_migrate = migrate is None or migrate
        else:
            raise ConfigurationError(
                "DATABASE_URL is not set: name the database (postgresql://user@host/database), "
                "or set GAMEDB_EMBEDDED=1 for the embedded development server"
            )
        if should_migrate:
            from gamedb.migrate import migrate as run_migrations

            await run_migrations(dsn)
        try:
            with translating():
                pool = await _create_pool(dsn, settings)
        except ValueError as exc:
            if isinstance(exc, GameDBError):
                raise
            # asyncpg's own parsing of the URL
            raise ConfigurationError(
                f"DATABASE_URL {redact_url(dsn)!r} is not usable: {exc}"
            ) from exc
        try:
            with translating():
                # Once, not a round trip a batch: a database does not become distributed
                # under a running pool (``gamedb distribute`` runs before the engine starts).
                on_citus = await citus.citus_version(pool) is not None
                calls = await delegation.delegated_calls(pool) if on_citus else None
        except BaseException:
            await pool.close()
            raise
        return cls(
            pool, url=dsn, settings=settings, retry=retry or RetryPolicy(), delegated_calls=calls
        )

    @property
    def pool(self) -> asyncpg.Pool:
        """The underlying :class:`asyncpg.Pool`, for the generated functions."""
        return self._pool

    @property
    def max_connections(self) -> int:
        return self._settings.max_connections

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return redact_url(self._url)

    async def close(self, timeout: float = 10.0) -> None:
        """Close the pool, waiting up to ``timeout`` seconds for connections in use, then
        terminating the rest (wraps :meth:`asyncpg.Pool.close`). Any call after this raises
        :class:`UsageError`."""
        self._closed = True
        try:
            await asyncio.wait_for(self._pool.close(), timeout)
        except TimeoutError:
            log.warning("gamedb pool did not close within %.1f s; terminating", timeout)
            self._pool.terminate()

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError(f"{self!r} is closed")

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy]:
        """A pooled connection (:meth:`_acquire`) for the block, released after it."""
        with translating():
            conn = await self._acquire()
        try:
            yield conn
        except BaseException as exc:
            _drop_if_unanswered(conn, exc)
            raise
        finally:
            await self._pool.release(conn)

    async def _acquire(self) -> PoolConnectionProxy:
        """A pooled connection, waited for at most ``DB_POOL_TIMEOUT``; the driver's errors
        are left to the caller's :func:`translating`."""
        self._check_open()
        if _has_free_connection(self._pool):
            # Nothing to wait for, so no timer to arm and cancel: every operation comes here.
            return await self._pool.acquire()
        waited = self._settings.db_pool_timeout
        try:
            async with asyncio.timeout(waited) as limit:
                return await self._pool.acquire()
        except TimeoutError as exc:
            if not limit.expired():  # a new connection's own timeout: retried like one
                raise ConnectionFailed(
                    f"connecting to {self.url} timed out after "
                    f"{self._settings.db_connect_timeout:g} s (DB_CONNECT_TIMEOUT)"
                ) from exc
            raise PoolTimeout(
                f"no connection of the pool ({self.max_connections} connections to "
                f"{self.url}) came free within {waited:g} s (DB_POOL_TIMEOUT)"
            ) from exc

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def expire_connections(self) -> None:
        """Replace every pooled connection (after a migration changed the schema)."""
        await self._pool.expire_connections()

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, isolation: Isolation = "read_committed", readonly: bool = False
    ) -> AsyncIterator[Transaction]:
        """One transaction for the operations of the block; commits when the block exits
        normally, rolls back when it raises."""
        level = _checked_isolation(isolation)
        async with self._connection() as conn:
            with translating(connection=conn):
                tx = conn.transaction(isolation=level, readonly=readonly)
                await tx.start()
            block = Transaction(conn, delegated_calls=self._calls)
            try:
                yield block
            except BaseException as exc:
                await _abandon(block, tx, conn, exc)
                raise
            block._end()
            with translating(connection=conn):
                await tx.commit()

    async def run_in_transaction(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        game_id: uuid.UUID | None = None,
        isolation: Isolation = "read_committed",
    ) -> T:
        """Run ``work`` in one transaction, re-running all of it on transient failures. When
        a COMMIT's reply is lost, the server is asked whether that transaction committed: if
        it did, its result is returned and ``work`` does not run again."""
        level = _checked_isolation(isolation)
        self._check_open()
        runs = 0
        in_doubt: _CommitInDoubt[T] | None = None

        async def attempt() -> T:
            nonlocal runs, in_doubt
            async with self._connection() as conn:
                with translating(game_id=game_id, connection=conn):
                    if in_doubt is not None:
                        status = await admin.transaction_status(conn, transaction_id=in_doubt.xid)
                        if status == "committed":
                            return in_doubt.result
                        if status == "in progress":
                            # The server has not yet seen the end of the previous attempt's
                            # session.
                            raise TransientError(
                                "the previous attempt's COMMIT is still in progress",
                                game_id=game_id,
                            )
                        in_doubt = None
                    runs += 1
                    tx = conn.transaction(isolation=level)
                    await tx.start()
                    block = Transaction(conn, delegated_calls=self._calls, rerun=runs > 1)
                    try:
                        xid = await admin.current_transaction_id(conn)
                        result = await work(block)
                    except BaseException as exc:
                        await _abandon(block, tx, conn, exc)
                        raise
                    block._end()
                    try:
                        await tx.commit()
                    except DRIVER_ERRORS:
                        # Whether it committed is for the server to say: the next attempt asks.
                        if xid is not None:
                            in_doubt = _CommitInDoubt(xid, result)
                        raise
                    return result

        return await retrying(
            attempt, policy=self._retry, what=f"run_in_transaction({_name(work)})", game_id=game_id
        )

    async def _run(
        self,
        game_id: uuid.UUID | None,
        operation: Callable[[Executor], Awaitable[T]],
        *,
        atomic: bool = False,
    ) -> T:
        """Run ``operation`` on a pooled connection (in a transaction when ``atomic``),
        retried on transient failures."""
        started = time.perf_counter()
        # The first attempt runs here, outside the retry loop: every operation takes this
        # path, and nearly all of them succeed at once.
        try:
            result = await self._attempt(game_id, operation, atomic)
        except GameDBError as failure:
            first_failure = failure
        else:
            if log.isEnabledFor(logging.DEBUG):
                log_success(_name(operation), game_id=game_id, started=started)
            return result
        return await retrying(
            functools.partial(self._attempt, game_id, operation, atomic),
            policy=self._retry,
            what=_name(operation),
            game_id=game_id,
            first_failure=first_failure,
            started=started,
        )

    async def _attempt(
        self, game_id: uuid.UUID | None, operation: Callable[[Executor], Awaitable[T]], atomic: bool
    ) -> T:
        # What _connection() does, unrolled: every operation runs this. One translation for
        # the acquire and the operation; the connection is released after it has judged.
        translation = translating(game_id=game_id)
        conn: PoolConnectionProxy | None = None
        try:
            with translation:
                conn = await self._acquire()
                translation.watch(conn)
                executor = delegation.executor(conn, self._calls)
                if not atomic:
                    return await operation(executor)
                tx = conn.transaction()
                await tx.start()
                try:
                    result = await operation(executor)
                except BaseException as exc:
                    await _roll_back(tx, conn, exc)
                    raise
                await tx.commit()
                return result
        except BaseException as exc:
            if conn is not None:
                _drop_if_unanswered(conn, exc)
            raise
        finally:
            if conn is not None:
                await self._pool.release(conn)


async def _abandon(
    block: Transaction,
    tx: asyncpg.transaction.Transaction,
    conn: PoolConnectionProxy,
    failure: BaseException,
) -> None:
    """Roll back a transaction whose block raised ``failure``. An operation still running on
    it (a task the block left behind) makes its connection unusable, and a call that got no
    reply within ``DB_COMMAND_TIMEOUT`` says the network is gone, where a ROLLBACK would wait
    as long again: drop the connection instead (the server rolls back)."""
    busy = block._busy
    block._end()
    # A connection the server dropped is already back in the pool: nothing to roll back.
    if busy:
        with contextlib.suppress(*DRIVER_ERRORS):
            conn.terminate()
    else:
        await _roll_back(tx, conn, failure)


async def _roll_back(
    tx: asyncpg.transaction.Transaction, conn: PoolConnectionProxy, failure: BaseException
) -> None:
    """Roll back the transaction ``failure`` ended, or drop its connection when ``failure``
    is a call that got no reply (a ROLLBACK would wait ``DB_COMMAND_TIMEOUT`` again)."""
    with contextlib.suppress(*DRIVER_ERRORS):
        if _unanswered(failure):
            conn.terminate()
        else:
            await tx.rollback()


def _has_free_connection(pool: asyncpg.Pool) -> bool:
    """Whether ``pool.acquire()`` would hand over a connection without waiting for one to be
    released: its queue of free connection slots is not empty. Pool.get_idle_size() answers
    a narrower question in time proportional to the pool's size; should asyncpg's queue ever
    move, the answer is "no" and the acquire is merely timed (a timer that costs a few µs)."""
    queue = getattr(pool, "_queue", None)
    return isinstance(queue, asyncio.Queue) and not queue.empty()


def _drop_if_unanswered(conn: PoolConnectionProxy, failure: BaseException) -> None:
    """Drop a connection whose call got no reply in time: releasing it would wait for
    asyncpg's cancel request, which a dead network never answers."""
    if _unanswered(failure):
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()


def _unanswered(failure: BaseException) -> bool:
    """Whether ``failure`` (or the driver error gamedb raised it from) is a call that got no
    reply in time, rather than the server's own statement timeout."""
    cause = failure.__cause__ if isinstance(failure, GameDBError) else failure
    return isinstance(cause, TimeoutError) and not isinstance(cause, GameDBError)


async def _create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(
            dsn,
            min_size=min(settings.db_pool_size, settings.max_connections),
            max_size=settings.max_connections,
            command_timeout=settings.db_command_timeout,
            timeout=settings.db_connect_timeout,
            init=register_codecs,
            reset=_release_as_is,
            server_settings={
                "application_name": "gamedb",
                # Timestamps inside JSON documents (recovery) are printed in the session's
                # time zone; a historic zone's offset in seconds would not parse back.
                "TimeZone": "UTC",
                # Citus hides shards from catalog scans by filtering pg_class row by row,
                # which makes asyncpg's type introspection take 0.3 s a connection there.
                # A plain server keeps this as an inert placeholder setting.
                "citus.override_table_visibility": "off",
                "statement_timeout": _milliseconds(settings.db_statement_timeout),
                "idle_in_transaction_session_timeout": _milliseconds(
                    max(settings.db_command_timeout, 60.0)
                ),
            },
        )
    except TimeoutError as exc:
        raise ConnectionFailed(
            f"connecting to {redact_url(dsn)} timed out after "
            f"{settings.db_connect_timeout:g} s (DB_CONNECT_TIMEOUT)"
        ) from exc


def _check_setting_names(overrides: dict[str, Any]) -> None:
    """Refuse an override that is no :class:`Settings` field (``Settings`` itself ignores
    unknown names, since the environment holds many that are not gamedb's)."""
    valid = sorted(Settings.model_fields)
    unknown = [name for name in overrides if name not in Settings.model_fields]
    if not unknown:
        return
    guesses = [
        f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
        for name in unknown
        for close in [difflib.get_close_matches(name, valid, n=1)]
    ]
    raise ConfigurationError(
        f"unknown gamedb setting {', '.join(guesses)}; the settings are {', '.join(valid)}"
    )


def _name(operation: Callable[..., object]) -> str:
    return getattr(operation, "__qualname__", type(operation).__name__)


class _CommitInDoubt(Generic[T]):
    """A transaction whose COMMIT got no reply: its id, and what its work returned."""

    __slots__ = ("result", "xid")

    def __init__(self, xid: str, result: T) -> None:
        self.xid = xid
        self.result = result


def _milliseconds(seconds: float) -> str:
    """A PostgreSQL timeout setting; never 0, which would mean no timeout at all."""
    return str(max(1, round(seconds * 1000)))


async def _release_as_is(conn: asyncpg.Connection) -> None:
    """Hand a connection back to the pool without asyncpg's reset query
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), which costs a round
    trip on every release. gamedb leaves no session state on pooled connections to reset: its
    settings go in at connect, it takes only transaction-scoped locks, and it never LISTENs
    or keeps cursors; asyncpg still rolls back a transaction left open before calling this."""
