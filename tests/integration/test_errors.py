"""Every failure reaches the caller as the gamedb error that names it: a bug in the caller
(a closed database, a misused transaction) at once and never retried, a full pool or a
statement timeout with the setting that governs it, and each kind of refused connection
with its own type."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gamedb import (
    AuthenticationFailed,
    ConnectionFailed,
    ConstraintViolation,
    Database,
    DatabaseNotFound,
    GameDBError,
    GamePersister,
    InvalidInput,
    PoolTimeout,
    StatementTimeout,
    TLSRefused,
    Transaction,
    TransientError,
    UsageError,
)
from gamedb.cli import _reach as reach
from gamedb.errors import is_transient, translate, translating
from gamedb.retry import RetryPolicy, retrying
from gamedb.settings import Settings
from gamedb_schema.urls import with_database
from tests.factories import play_dict, set_up_game


@pytest.fixture
async def single(database_url: str) -> AsyncIterator[Database]:
    """A database whose pool holds one connection, waited for at most 0.3 s."""
    async with await Database.connect(
        database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3
    ) as database:
        yield database


async def test_a_closed_database_fails_at_once(database_url: str) -> None:
    db = await Database.connect(database_url, db_pool_size=1)
    await db.close()
    started = time.perf_counter()
    with pytest.raises(UsageError, match="closed"):
        await db.get_game(uuid.uuid4())
    with pytest.raises(UsageError, match="closed"):
        async with db.transaction():
            pass
    with pytest.raises(UsageError, match="closed"):
        await db.run_in_transaction(lambda tx: tx.get_game(uuid.uuid4()))
    assert time.perf_counter() - started < 0.5


async def test_waiting_for_a_pooled_connection_has_a_limit(single: Database) -> None:
    async with single.transaction():
        started = time.perf_counter()
        with pytest.raises(PoolTimeout) as waited:
            await single.get_game(uuid.uuid4())
        elapsed = time.perf_counter() - started
    assert 0.25 <= elapsed < 1.5, "waited DB_POOL_TIMEOUT, once (a full pool is not retried)"
    assert "DB_POOL_TIMEOUT" in str(waited.value) and "1 connections" in str(waited.value)
    assert isinstance(waited.value, TransientError)
    assert await single.get_game(uuid.uuid4()) is None, "the pool works once the block ends"


async def test_a_persister_handle_awaited_inside_a_transaction_does_not_hang(
    single: Database,
) -> None:
    game = await set_up_game(single)
    persister = GamePersister(single, retry=RetryPolicy(base=0.01, cap=0.05, deadline=1.0))
    try:
        async with single.transaction() as tx:
            await tx.get_game(game.game_id)
            handle = await persister.save_play(play_dict(game, 1))
            # The persister needs the connection this block holds: its wait is bounded.
            with pytest.raises(TransientError):
                await asyncio.wait_for(handle, timeout=15)
    finally:
        await persister.close(timeout=5)


async def test_a_transaction_used_by_two_calls_at_once_or_after_its_block_is_misused(
    db: Database,
) -> None:
    game = await set_up_game(db)
    async with db.transaction() as tx:
        outcomes = await asyncio.gather(
            tx.get_plays(game.game_id), tx.get_plays(game.game_id), return_exceptions=True
        )
    assert outcomes[0] == []
    assert isinstance(outcomes[1], UsageError) and "another operation" in str(outcomes[1])
    with pytest.raises(UsageError, match="over"):
        await tx.get_game(game.game_id)

    runs = 0

    async def overlapping(tx: Transaction) -> None:
        nonlocal runs
        runs += 1
        await asyncio.gather(tx.get_plays(game.game_id), tx.get_plays(game.game_id))

    with pytest.raises(UsageError):
        await db.run_in_transaction(overlapping)
    assert runs == 1, "a bug of the caller is never retried"


@pytest.mark.parametrize("isolation", ["bogus", "", None, 1])
async def test_an_unknown_isolation_level_is_invalid_input(db: Database, isolation: object) -> None:
    with pytest.raises(InvalidInput, match="isolation"):
        async with db.transaction(isolation=isolation):  # type: ignore[arg-type]
            pass
    with pytest.raises(InvalidInput, match="isolation"):
        await db.run_in_transaction(
            lambda tx: tx.get_game(uuid.uuid4()),
            isolation=isolation,  # type: ignore[arg-type]
        )


async def test_a_statement_timeout_is_typed_and_not_retried(database_url: str) -> None:
    async with await Database.connect(database_url, db_pool_size=1, db_statement_timeout=0.2) as db:
        game = await set_up_game(db)
        holder = await asyncpg.connect(database_url)
        try:
            async with holder.transaction():
                await holder.execute("SELECT 1 FROM games WHERE id = $1 FOR UPDATE", game.game_id)
                started = time.perf_counter()
                with pytest.raises(StatementTimeout) as cancelled:
                    await db.update_game_state(
                        game_id=game.game_id, inning=2, half="top", home_score=0, away_score=0
                    )
                elapsed = time.perf_counter() - started
        finally:
            await holder.close()
    assert isinstance(cancelled.value, TimeoutError) and isinstance(cancelled.value, TransientError)
    assert "DB_STATEMENT_TIMEOUT" in str(cancelled.value)
    assert cancelled.value.game_id == game.game_id
    assert elapsed < 1.0, "run once, not retried"


def as_user(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(
        parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}")
    )


async def test_each_refused_connection_has_its_own_type(database_url: str) -> None:
    with pytest.raises(AuthenticationFailed):
        await Database.connect(as_user(database_url, f"nobody_{uuid.uuid4().hex[:8]}"))
    with pytest.raises(DatabaseNotFound):
        await Database.connect(with_database(database_url, f"missing_{uuid.uuid4().hex[:8]}"))


async def test_the_command_types_a_refused_connection_the_same_way(database_url: str) -> None:
    """The command checks its database answers before it runs dbmate or an operation."""
    with pytest.raises(AuthenticationFailed, match="cannot connect to"):
        await reach(Settings.load(database_url=as_user(database_url, "nobody_x")), must_exist=True)
    missing = with_database(database_url, f"missing_{uuid.uuid4().hex[:8]}")
    with pytest.raises(DatabaseNotFound, match="does not exist yet"):
        await reach(Settings.load(database_url=missing), must_exist=True)


async def test_a_refused_tls_handshake_is_typed() -> None:
    async def refuse_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(8)  # the SSLRequest
        writer.write(b"N")  # what a server without TLS answers
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse_tls, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TLSRefused) as refused:
            await Database.connect(f"postgresql://gamedb@127.0.0.1:{port}/gamedb?sslmode=require")
    finally:
        server.close()
        await server.wait_closed()
    assert "TLS" in str(refused.value)


async def test_a_connect_timeout_names_its_setting() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(ConnectionFailed) as timed_out:
            await Database.connect(
                f"postgresql://gamedb@127.0.0.1:{port}/gamedb", db_connect_timeout=0.3
            )
    assert time.perf_counter() - started < 2.0
    message = str(timed_out.value)
    assert "timed out after 0.3 s" in message and "DB_CONNECT_TIMEOUT" in message


# Each driver error built with a message that would mislead a reader of text: the class alone
# decides.
TRANSIENT = [
    asyncpg.SerializationError("duplicate key value violates unique constraint"),
    asyncpg.DeadlockDetectedError("syntax error"),
    asyncpg.LockNotAvailableError("permission denied"),
    asyncpg.AdminShutdownError("invalid input"),
    asyncpg.CrashShutdownError(""),
    asyncpg.CannotConnectNowError(""),
    asyncpg.TooManyConnectionsError(""),
    asyncpg.ConnectionDoesNotExistError(""),
    asyncpg.InvalidCachedStatementError(""),
    asyncpg.InternalServerError(""),
    asyncpg.InternalClientError("another operation is in progress"),
    ConnectionResetError("statement timeout"),
    TimeoutError(),
]
PERMANENT = [
    (asyncpg.UniqueViolationError("could not serialize access"), ConstraintViolation),
    (asyncpg.NumericValueOutOfRangeError("deadlock detected"), InvalidInput),
    (asyncpg.QueryCanceledError("connection lost"), StatementTimeout),
    (asyncpg.InsufficientPrivilegeError("terminating connection"), GameDBError),
    (asyncpg.InterfaceError("connection is closed"), UsageError),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_a_transient_driver_error_is_known_by_its_class(error: BaseException) -> None:
    assert is_transient(error)
    assert isinstance(translate(error), TransientError)


@pytest.mark.parametrize(("error", "typed"), PERMANENT, ids=lambda e: type(e).__name__)
def test_a_permanent_driver_error_is_known_by_its_class(
    error: BaseException, typed: type[GameDBError]
) -> None:
    assert not is_transient(error)
    assert type(translate(error)) is typed
    with pytest.raises(typed) as raised, translating(game_id=uuid.UUID(int=7)):
        raise error
    assert raised.value.__cause__ is error and raised.value.game_id == uuid.UUID(int=7)


async def test_a_client_error_on_a_connection_closed_since_is_its_loss(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(UsageError, match="another operation"), translating(connection=conn):
            await asyncio.gather(conn.fetchval("SELECT pg_sleep(0.1)"), conn.fetchval("SELECT 1"))
    finally:
        conn.terminate()
    with pytest.raises(ConnectionFailed, match="lost") as lost, translating(connection=conn):
        await conn.fetchval("SELECT 1")
    assert is_transient(lost.value) and isinstance(lost.value.__cause__, asyncpg.InterfaceError)


async def test_retries_stop_before_a_wait_would_pass_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="gamedb")
    attempts: list[float] = []

    async def lose_a_deadlock() -> None:
        attempts.append(time.perf_counter())
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    policy = RetryPolicy(base=0.1, cap=0.1, deadline=0.5)
    started = time.perf_counter()
    with pytest.raises(TransientError) as gave_up:
        await retrying(lose_a_deadlock, policy=policy, what="the test's work")
    assert time.perf_counter() - started < 0.5 + 0.1, "no wait ends past the deadline"
    assert len(attempts) >= 3 and isinstance(gave_up.value.__cause__, asyncpg.DeadlockDetectedError)
    retried = [r for r in caplog.records if r.getMessage().startswith("retrying the test's work")]
    assert len(retried) == len(attempts) - 1
    assert all(
        r.levelno == logging.DEBUG and "DeadlockDetectedError" in r.getMessage() for r in retried
    )
    warned = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert len(warned) == 1 and f"after {len(attempts)} attempts" in warned[0].getMessage()

    caplog.clear()
    attempts.clear()

    async def break_a_constraint() -> None:
        attempts.append(time.perf_counter())
        raise asyncpg.CheckViolationError("new row violates check constraint")

    with pytest.raises(ConstraintViolation):
        await retrying(break_a_constraint, policy=policy, what="the test's work")
    assert len(attempts) == 1, "a permanent error is never retried"
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
