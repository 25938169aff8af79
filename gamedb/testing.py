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
extra). :func:`scratch_database`, :func:`create_database` and :func:`drop_database` (from
:mod:`gamedb_schema.scratch`) serve code that needs a database outside pytest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import os
import urllib.parse
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING or importlib.util.find_spec("pytest_asyncio") is not None:
    from pytest_asyncio import fixture as async_fixture
else:  # the plugin loads in every pytest run; only gamedb_database needs pytest-asyncio
    async_fixture = pytest.fixture

from gamedb.database import Database
from gamedb.migrate import migrate
from gamedb_schema.embedded import start_embedded_server
from gamedb_schema.scratch import create_database, drop_database, scratch_database
from gamedb_schema.urls import normalize_url, with_database

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
    yield start_embedded_server()


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
        _run_apart(migrate(url, lock=False))  # nobody else knows this database yet
        yield urllib.parse.urlsplit(url).path.lstrip("/")
    finally:
        _run_apart(drop_database(url))


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
    database = await Database.connect(gamedb_url, db_pool_size=2)
    try:
        yield database
    finally:
        await database.close()
