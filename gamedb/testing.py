"""Migrated, empty gamedb databases for tests: a pytest plugin, and the helpers behind it.

Installed with gamedb, the plugin (entry point ``pytest11``) gives every test of a project a
database of its own, cloned from a template migrated once per session::

    from gamedb import Database

    async def test_a_game_is_stored(gamedb_database: Database) -> None:
        game = await gamedb_database.create_game(
            game_id=uuid.uuid4(), league_id="sba", home_team_id=1, away_team_id=2
        )

Fixtures: ``gamedb_server_url`` (session: a superuser URL of the server), ``gamedb_template``
(session: the migrated template's name), ``gamedb_url`` (a fresh migrated database, dropped
after the test) and ``gamedb_database`` (a :class:`gamedb.Database` on it). The server is
``GAMEDB_TEST_DATABASE_URL`` when set (a role that may create databases), a testcontainers
PostgreSQL when ``GAMEDB_TEST_BACKEND=docker``, else the embedded server (the ``embedded``
extra). :func:`scratch_database` serves code that needs a database outside pytest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import pytest

if TYPE_CHECKING or importlib.util.find_spec("pytest_asyncio") is not None:
    from pytest_asyncio import fixture as async_fixture
else:  # the plugin loads in every pytest run; only gamedb_database needs pytest-asyncio
    async_fixture = pytest.fixture

from gamedb.settings import normalize_url, with_database

if TYPE_CHECKING:
    from gamedb.database import Database

__all__ = [
    "create_database",
    "database_server",
    "drop_database",
    "gamedb_database",
    "gamedb_server_url",
    "gamedb_template",
    "gamedb_url",
    "scratch_database",
]

T = TypeVar("T")


@contextlib.contextmanager
def database_server() -> Iterator[str]:
    """A superuser URL of the server tests use, to its ``postgres`` database (see the module
    docstring for the choice); a container is stopped on exit, the embedded server kept."""
    explicit = os.environ.get("GAMEDB_TEST_DATABASE_URL")
    if explicit:
        yield with_database(normalize_url(explicit), "postgres")
        return
    if os.environ.get("GAMEDB_TEST_BACKEND") == "docker":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18-alpine", driver=None) as container:
            yield normalize_url(container.get_connection_url())
        return
    from gamedb.embedded import start_embedded_server

    yield start_embedded_server()


async def create_database(
    server_url: str, *, prefix: str = "gamedb_test", template: str | None = None
) -> str:
    """Create a uniquely named database (a copy of ``template`` if given); return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(url: str) -> None:
    """Drop the database ``url`` names, closing its connections (no error if it is gone)."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(
    server_url: str, *, prefix: str = "gamedb_scratch", template: str | None = None
) -> AsyncIterator[str]:
    """A fresh database on ``server_url``'s server, migrated (or cloned from ``template``),
    dropped on exit; yields its URL::

        async with scratch_database(server_url) as url:
            db = await Database.connect(url)
    """
    url = await create_database(server_url, prefix=prefix, template=template)
    try:
        if template is None:
            from gamedb.migrate import migrate

            await migrate(url, lock=False)  # nobody else knows this database yet
        yield url
    finally:
        await drop_database(url)


def _run_apart(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on an event loop of its own, whichever loop the tests use."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def gamedb_server_url() -> Iterator[str]:
    """A superuser URL of the test server's ``postgres`` database."""
    with database_server() as url:
        yield url


@pytest.fixture(scope="session")
def gamedb_template(gamedb_server_url: str) -> Iterator[str]:
    """The name of a database migrated to the latest schema, cloned by ``gamedb_url``."""
    url = _run_apart(create_database(gamedb_server_url, prefix="gamedb_template"))
    try:
        _run_apart(_migrate(url))
        yield urllib.parse.urlsplit(url).path.lstrip("/")
    finally:
        _run_apart(drop_database(url))


async def _migrate(url: str) -> None:
    from gamedb.migrate import migrate

    await migrate(url, lock=False)


@pytest.fixture
def gamedb_url(gamedb_server_url: str, gamedb_template: str) -> Iterator[str]:
    """The URL of a migrated, empty database of this test's own, dropped afterwards."""
    url = _run_apart(create_database(gamedb_server_url, template=gamedb_template))
    try:
        yield url
    finally:
        _run_apart(drop_database(url))


@async_fixture
async def gamedb_database(gamedb_url: str) -> AsyncIterator[Database]:
    """A :class:`gamedb.Database` (two connections) on this test's own database."""
    from gamedb.database import Database

    database = await Database.connect(gamedb_url, db_pool_size=2)
    try:
        yield database
    finally:
        await database.close()
