"""Test databases for every suite in the repository.

Order: ``GAMEDB_TEST_DATABASE_URL`` if set → a testcontainers ``postgres`` when
``GAMEDB_TEST_BACKEND=docker`` → the Citus cluster of ``make citus`` when
``GAMEDB_TEST_BACKEND=citus`` → the embedded server (default). The schema is migrated once
into a template database; each test gets a fresh clone of it. On Citus, which does not
propagate CREATE DATABASE, the template is one distributed database (created on every node,
migrated, distributed) that each test gets emptied instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from gamedb import Database
from gamedb.citus import distribute
from gamedb.migrate import migrate
from gamedb.settings import normalize_url, with_database

ON_CITUS = os.environ.get("GAMEDB_TEST_BACKEND") == "citus"
"""Whether the suite runs on the Citus cluster (``make test-citus``)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On Citus, skip the tests marked ``single_server(reason)``, giving their reason."""
    if not ON_CITUS:
        return
    for item in items:
        marker = item.get_closest_marker("single_server")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"single server only: {marker.args[0]}"))


def _admin_url_from_backend() -> Iterator[str]:
    if ON_CITUS:
        from devtools.citus_cluster import running_cluster

        cluster = running_cluster()
        yield cluster.url(cluster.coordinator, "postgres")
        return
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
    if ON_CITUS:
        url = await create_distributed_database(name)
        yield name
        await drop_distributed_database(name)
        return
    url = await _create_database(pg_admin_url, name)
    await migrate(url, create_role=True)
    yield name
    await _drop_database(pg_admin_url, name)


async def create_distributed_database(name: str) -> str:
    """A fresh database on the Citus cluster: on every node with the extension, the workers
    added, migrated through the coordinator and distributed; returns its URL."""
    from devtools.citus_cluster import create_database, running_cluster

    url = await create_database(running_cluster(), name)
    conn = await asyncpg.connect(url)
    try:
        # Four shards, two per worker, instead of 32: the same routing and co-location, and
        # emptying the tables for every test takes a fraction of the time.
        await conn.execute(f'ALTER DATABASE "{name}" SET citus.shard_count = 4')
    finally:
        await conn.close()
    await migrate(url)
    await distribute(url)
    return url


async def drop_distributed_database(name: str) -> None:
    """Drop a database of :func:`create_distributed_database` from every node."""
    from devtools.citus_cluster import drop_database, running_cluster

    await drop_database(running_cluster(), name)


async def _emptied(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE games, lineups, plays, roster_links, rolls, game_sessions")
    finally:
        await conn.close()
    return url


@pytest.fixture
async def database_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """URL of a migrated database of this test's own (on Citus: the distributed one,
    emptied)."""
    if ON_CITUS:
        yield await _emptied(with_database(pg_admin_url, template_database))
        return
    name = f"gamedb_test_{uuid.uuid4().hex[:12]}"
    url = await _create_database(pg_admin_url, name, template=template_database)
    yield url
    await _drop_database(pg_admin_url, name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A :class:`gamedb.Database` on this test's own database."""
    database = await Database.connect(database_url, db_pool_size=2)
    try:
        yield database
    finally:
        await database.close()
