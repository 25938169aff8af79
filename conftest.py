"""Test databases for every suite in the repository.

Order: ``GAMEDB_TEST_DATABASE_URL`` if set → a testcontainers ``postgres`` when
``GAMEDB_TEST_BACKEND=docker`` → the embedded server (default). The schema is migrated once
into a template database; each test gets a fresh clone of it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from gamedb import Database
from gamedb.migrate import migrate
from gamedb.settings import normalize_url, with_database


def _admin_url_from_backend() -> Iterator[str]:
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


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A superuser URL to the test server's ``postgres`` database."""
    yield from _admin_url_from_backend()


async def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(pg_admin_url: str) -> AsyncIterator[str]:
    """Name of a database migrated to the latest schema, cloned by :func:`database_url`."""
    name = f"gamedb_template_{uuid.uuid4().hex[:10]}"
    url = await _create_database(pg_admin_url, name)
    await migrate(url)
    yield name
    await _drop_database(pg_admin_url, name)


async def _own_database(admin_url: str, template: str) -> AsyncIterator[str]:
    name = f"gamedb_test_{uuid.uuid4().hex[:12]}"
    url = await _create_database(admin_url, name, template=template)
    yield url
    await _drop_database(admin_url, name)


@pytest.fixture
async def database_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """URL of a migrated database of this test's own."""
    async for url in _own_database(pg_admin_url, template_database):
        yield url


@pytest.fixture
async def other_database_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """URL of a second migrated database of this test's own, for tests comparing two."""
    async for url in _own_database(pg_admin_url, template_database):
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A :class:`gamedb.Database` on this test's own database."""
    database = await Database.connect(database_url, db_pool_size=2)
    try:
        yield database
    finally:
        await database.close()
