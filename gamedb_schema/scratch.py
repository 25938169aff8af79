"""Throwaway databases on a server: for tests, benchmarks and the code generator, which
migrates one to check every query against (``make generate``)::

    async with scratch_database(server_url) as url:
        ...                                   # a migrated, empty database of its own

    url = await create_database(server_url, template="gamedb_template")
    await drop_database(url)
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import asyncpg

from gamedb_schema.dbmate import run_dbmate
from gamedb_schema.urls import with_database

__all__ = ["create_database", "drop_database", "scratch_database"]


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
            # Nobody else knows this database yet: no migrators' lock, nothing to wait for.
            await run_dbmate(url, "up")
        yield url
    finally:
        await drop_database(url)
