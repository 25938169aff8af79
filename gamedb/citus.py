"""Distribute a migrated gamedb database over a Citus cluster.

Every table is distributed by ``game_id`` (``games`` by ``id``) and co-located with
``games``, so a game's rows live on one node and every per-game operation is a single-shard
query. Run it on the coordinator after migrating; it is idempotent, and after a later
migration it distributes only the tables that migration created::

    await migrate(url)
    distributed = await distribute(url)   # ('games', 'game_sessions', 'lineups', ...)
"""

from __future__ import annotations

import asyncpg

from gamedb.errors import ConfigurationError, translating
from gamedb_schema.urls import redact_url

__all__ = ["distribute"]


async def distribute(url: str) -> tuple[str, ...]:
    """Distribute what is not distributed yet; return what was (empty when nothing was).

    Raises :class:`~gamedb.errors.ConfigurationError` and changes nothing when the database
    has no ``citus`` extension.
    """
    from gamedb_gen import citus

    with translating():
        conn = await asyncpg.connect(url, timeout=10)
    try:
        with translating(connection=conn):
            if await citus.citus_version(conn) is None:
                raise ConfigurationError(
                    f"{redact_url(url)} is not a Citus coordinator: the citus extension is not "
                    "installed in that database (see the README's Scaling out section)"
                )
            async with conn.transaction():
                return tuple(await citus.distribute(conn))
    finally:
        await conn.close()
