"""Distribute a migrated gamedb database over a Citus cluster.

Every table is distributed by ``game_id`` (``games`` by ``id``) and co-located with
``games``, so a game's rows live on one node and every per-game operation is a single-shard
query; the writes Citus cannot route become functions delegated to the game's node
(:mod:`gamedb.delegation`). Run it on the coordinator after migrating and after upgrading
gamedb; it is idempotent, and after a later migration it distributes only what is new::

    await migrate(url)
    distributed = await distribute(url)   # ('games', 'game_sessions', ..., 'gamedb_save_play_…')
"""

from __future__ import annotations

import asyncpg

from gamedb import delegation
from gamedb.errors import ConfigurationError, translating
from gamedb_schema.urls import redact_url

__all__ = ["distribute"]


async def distribute(url: str) -> tuple[str, ...]:
    """Distribute what is not distributed yet, tables and delegated functions; return what
    was (empty when nothing was).

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
                tables = await citus.distribute(conn)
                functions = await delegation.install(conn)
            # Once the workers hold the distributed tables' sequences: a separate transaction.
            await citus.grant_sequences_on_workers(conn)
            return (*tables, *functions)
    finally:
        await conn.close()
