"""The connection pool, transactions and the retry loop every operation runs in.

    async with await Database.connect() as db:          # DATABASE_URL
        game = await db.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
        async with db.transaction() as tx:              # several operations, one transaction
            await tx.add_sba_lineup_player(game_id=gid, team_id=1, player_id=101, position="P")
            await tx.save_play(play)

Each operation called on :class:`Database` is one transaction of its own and is retried on
transient failures (see :mod:`gamedb.retry`); operations called on the :class:`Transaction`
of ``db.transaction()`` share its connection and commit together when the block exits
normally, or roll back together when it raises. A block cannot be re-run for you: use
:meth:`Database.run_in_transaction` for a retried multi-operation transaction. Wraps
:func:`asyncpg.create_pool` and :meth:`asyncpg.Connection.transaction`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import asyncpg

from gamedb.errors import (
    DRIVER_ERRORS,
    ConfigurationError,
    GameDBError,
    TransientError,
    is_transient,
    translate,
)
from gamedb.operations import Operations
from gamedb.retry import RetryPolicy
from gamedb.settings import Settings, redact_url
from gamedb_gen import Executor, register_codecs

__all__ = ["Database", "DatabaseOperations", "Isolation", "Transaction"]

T = TypeVar("T")
Isolation = Literal["read_committed", "repeatable_read", "serializable"]
log = logging.getLogger("gamedb")


class Transaction(Operations):
    """Operations sharing one connection and one transaction; made by ``db.transaction()``."""

    __slots__ = ("_conn", "_rerun")

    def __init__(self, conn: Executor, *, rerun: bool = False) -> None:
        self._conn = conn
        self._rerun = rerun

    @property
    def _is_rerun(self) -> bool:
        return self._rerun

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
        started = time.perf_counter()
        try:
            result = await operation(self._conn)
        except GameDBError:
            raise
        except DRIVER_ERRORS as exc:
            error = translate(exc, game_id=game_id)
            log.error("gamedb operation failed in transaction (game %s): %s", game_id, error)
            raise error from exc
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s game=%s %.3f ms",
                operation.__qualname__,
                game_id,
                (time.perf_counter() - started) * 1000,
            )
        return result


class Database(Operations):
    """A pool of connections to one gamedb database, and every operation on it."""

    __slots__ = ("_pool", "_retry", "_settings", "_url")

    def __init__(
        self, pool: asyncpg.Pool, *, url: str, settings: Settings, retry: RetryPolicy
    ) -> None:
        self._pool = pool
        self._url = url
        self._settings = settings
        self._retry = retry

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
        ``db_pool_size=4``.
        """
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
            from gamedb.embedded import embedded_database_url

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
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min(settings.db_pool_size, settings.max_connections),
                max_size=settings.max_connections,
                command_timeout=settings.db_command_timeout,
                timeout=settings.db_connect_timeout,
                init=register_codecs,
                reset=_release_as_is,
                server_settings={
                    "application_name": "gamedb",
                    "statement_timeout": str(int(settings.db_statement_timeout * 1000)),
                    "idle_in_transaction_session_timeout": str(
                        int(max(settings.db_command_timeout, 60.0) * 1000)
                    ),
                },
            )
        except DRIVER_ERRORS as exc:
            raise translate(exc) from None
        except ValueError as exc:  # asyncpg's own DSN parsing
            raise ConfigurationError(
                f"DATABASE_URL {redact_url(dsn)!r} is not usable: {exc}"
            ) from None
        return cls(pool, url=dsn, settings=settings, retry=retry or RetryPolicy())

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
        terminating the rest (wraps :meth:`asyncpg.Pool.close`)."""
        try:
            await asyncio.wait_for(self._pool.close(), timeout)
        except TimeoutError:
            log.error("gamedb pool did not close within %.1f s; terminating", timeout)
            self._pool.terminate()

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
        try:
            conn = await self._pool.acquire()
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        try:
            tx = conn.transaction(isolation=isolation, readonly=readonly)
            try:
                await tx.start()
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
            try:
                yield Transaction(conn)
            except BaseException:
                with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                    await tx.rollback()
                raise
            try:
                await tx.commit()
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        finally:
            await self._pool.release(conn)

    async def run_in_transaction(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        game_id: uuid.UUID | None = None,
        isolation: Isolation = "read_committed",
    ) -> T:
        """Run ``work`` in one transaction, re-running all of it on transient failures."""

        runs = 0

        async def attempt(conn: Executor) -> T:
            nonlocal runs
            runs += 1
            return await work(Transaction(conn, rerun=runs > 1))

        return await self._run(game_id, attempt, atomic=True, isolation=isolation)

    async def _run(
        self,
        game_id: uuid.UUID | None,
        operation: Callable[[Executor], Awaitable[T]],
        *,
        atomic: bool = False,
        isolation: Isolation = "read_committed",
    ) -> T:
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                if atomic:
                    async with self._pool.acquire() as conn, conn.transaction(isolation=isolation):
                        result = await operation(conn)
                else:
                    result = await operation(self._pool)
                break
            except GameDBError as exc:
                # An operation inside run_in_transaction's work translated the failure
                # already; a transient one still means re-running the whole transaction.
                cause = exc.__cause__
                if not (isinstance(exc, TransientError) and cause and is_transient(cause)):
                    raise
                failure: BaseException = cause
            except DRIVER_ERRORS as exc:
                failure = exc
            elapsed = time.perf_counter() - started
            if (
                is_transient(failure)
                and attempt + 1 < self._retry.max_attempts
                and elapsed < self._retry.deadline
            ):
                delay = self._retry.delay(attempt)
                attempt += 1
                log.debug(
                    "retrying %s (game %s, attempt %d) after %s: %s",
                    operation.__qualname__,
                    game_id,
                    attempt,
                    type(failure).__name__,
                    failure,
                )
                await asyncio.sleep(delay)
                continue
            error = translate(failure, game_id=game_id)
            log.error("gamedb operation failed (game %s): %s", game_id, error)
            raise error from failure
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s game=%s %.3f ms attempts=%d",
                operation.__qualname__,
                game_id,
                (time.perf_counter() - started) * 1000,
                attempt + 1,
            )
        return result


async def _release_as_is(conn: asyncpg.Connection) -> None:
    """Hand a connection back to the pool without asyncpg's reset query
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), which costs a round
    trip on every release. gamedb leaves no session state on pooled connections to reset: its
    settings go in at connect, it takes only transaction-scoped locks, and it never LISTENs
    or keeps cursors; asyncpg still rolls back a transaction left open before calling this."""


DatabaseOperations = Database
"""The old layer's name for the same class: switching is a change of import."""
