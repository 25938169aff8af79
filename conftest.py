"""The project's tests use gamedb's own pytest plugin (:mod:`gamedb.testing`): each test gets
a database cloned from a template migrated once per session, on ``GAMEDB_TEST_DATABASE_URL``'s
server, a testcontainers ``postgres`` when ``GAMEDB_TEST_BACKEND=docker``, else the embedded
server. The fixtures below are the short names the suites use.
"""

from __future__ import annotations

import pytest

from gamedb import Database


@pytest.fixture(scope="session")
def pg_admin_url(gamedb_server_url: str) -> str:
    """A superuser URL to the test server's ``postgres`` database."""
    return gamedb_server_url


@pytest.fixture
def database_url(gamedb_url: str) -> str:
    """URL of a migrated database of this test's own."""
    return gamedb_url


@pytest.fixture
def db(gamedb_database: Database) -> Database:
    """A :class:`gamedb.Database` on this test's own database."""
    return gamedb_database
