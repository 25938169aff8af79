"""The database a benchmark run writes to: fresh, migrated, dropped afterwards.

``DATABASE_URL`` names the server when set, else gamedb's embedded server runs it. The run
creates a database of its own next to the named one and drops it at the end; a role that may
not create databases benchmarks in the named database itself (migrated first), and the games
the run made are deleted afterwards::

    async with bench_database() as target:
        db = await Database.connect(target.url)

The scratch database is :func:`gamedb_schema.scratch.scratch_database`'s, as the tests' are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator

import asyncpg

from gamedb.migrate import migrate
from gamedb_schema.embedded import start_embedded_server
from gamedb_schema.scratch import scratch_database
from gamedb_schema.urls import normalize_url, redact_url

__all__ = ["BenchTarget", "bench_database"]


@dataclasses.dataclass(frozen=True, slots=True)
class BenchTarget:
    """Where the run writes: ``url`` of a migrated database; ``scratch`` when the run made
    it and drops it afterwards (else the run must delete the games it made)."""

    url: str
    scratch: bool
    server: str

    @property
    def shown(self) -> str:
        """The URL with its password masked."""
        return redact_url(self.url)


def _server_url() -> tuple[str, str]:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return normalize_url(configured), "DATABASE_URL"
    return start_embedded_server(), "embedded"


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[BenchTarget]:
    """A migrated database for one run (see the module docstring)."""
    base, server = _server_url()
    async with contextlib.AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(scratch_database(base, prefix="gamedb_bench"))
        except asyncpg.InsufficientPrivilegeError:
            await migrate(base)
            url = None
        yield BenchTarget(url=url or base, scratch=url is not None, server=server)
