"""Fixtures for the plugin's tests: captured sqlc requests.

The JSON requests under ``fixtures/`` were captured from real ``sqlc generate`` runs over the
projects in ``fixtures/src/`` (regenerate with
``python -m gamedb_codegen.capture codegen/tests/fixtures/src/basic
codegen/tests/fixtures/basic.json``, same for ``errors``).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_request(name: str) -> dict[str, Any]:
    """A captured request by fixture name (``basic``, ``errors``)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="session")
def basic_request() -> dict[str, Any]:
    """Every supported command, type and naming case (fixtures/src/basic)."""
    return load_request("basic")


@pytest.fixture(scope="session")
def errors_request() -> dict[str, Any]:
    """One query per unsupported construct (fixtures/src/errors)."""
    return load_request("errors")


SchemaDatabase = Callable[[Path], contextlib.AbstractAsyncContextManager[asyncpg.Connection]]


@pytest.fixture
def schema_database(pg_admin_url: str) -> SchemaDatabase:
    """Opens a connection to a new database with the migrations of a schema folder applied
    (their up sections), dropped afterwards: ``async with schema_database(path) as conn``."""

    def open_database(schema: Path) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        migrations = [
            path.read_text().split("-- migrate:down")[0].replace("-- migrate:up", "")
            for path in sorted(schema.glob("*.sql"))
        ]
        return _schema_database(pg_admin_url, migrations)

    return open_database


@contextlib.asynccontextmanager
async def _schema_database(
    admin_url: str, migrations: list[str]
) -> AsyncIterator[asyncpg.Connection]:
    name = f"codegen_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    connection = await asyncpg.connect(admin_url, database=name)
    try:
        for migration in migrations:
            await connection.execute(migration)
        yield connection
    finally:
        await connection.close()
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
