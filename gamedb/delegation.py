"""The per-game writes Citus cannot route, sent to the game's node as function calls.

Six writes insert rows whose ids an identity column generates, by inserting the result of a
query with common table expressions that check and lock the game and its plays. Citus counts the
id's ``nextval()`` as a volatile function: it evaluates such a statement on the coordinator
in steps and commits it in two phases. :func:`install` (run by ``gamedb distribute``)
therefore makes each statement the body of a SQL function, distributed by its game argument,
co-located with ``games`` and delegated inside transactions too: the coordinator sends the
call to the node holding the game, which runs the very same statement there, on that game's
shards, in the caller's transaction. On Citus, gamedb's operations run on a
:class:`Delegating` connection, which sends the call in place of the statement::

    calls = await delegated_calls(pool)                 # once, when the pool opens
    conn = Delegating(pooled, calls)
    await plays.save_play(conn, **play.arguments())     # calls gamedb_save_play_…($1, …)

The functions and their calls are defined in SQL (the ``gamedb_delegate*`` functions of the
schema). Each function's name carries a hash of its statement: a gamedb whose statements
changed finds no function to call and says to run ``gamedb distribute`` again, instead of
running old SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence

import asyncpg

from gamedb.errors import ConfigurationError
from gamedb_gen import Executor, citus, lineups, plays, rosters

__all__ = ["DELEGATED", "Delegating", "delegated_calls", "executor", "install"]

DELEGATED: tuple[str, ...] = (
    lineups.ADD_LINEUP_ENTRY,
    lineups.ADD_SUBSTITUTION,
    plays.RECORD_PLAY,
    plays.SAVE_GAME_PLAYS,
    plays.SAVE_PLAY,
    rosters.ADD_ROSTER_LINK,
)
"""The statements sent as function calls on Citus (the generated SQL constants)."""


async def delegated_calls(conn: Executor) -> dict[str, str]:
    """The call of each :data:`DELEGATED` statement, by statement."""
    calls: dict[str, str] = {}
    for statement in DELEGATED:
        call = await citus.delegated_call(conn, statement=statement)
        if call is None:
            raise ConfigurationError(f"no delegated call for {_query_name(statement)}")
        calls[statement] = call
    return calls


def _query_name(statement: str) -> str:
    # The generated constants start with sqlc's "-- name: SavePlay :one" line.
    return statement.split(maxsplit=3)[2]


@contextlib.contextmanager
def _installed(statement: str) -> Iterator[None]:
    try:
        yield
    except asyncpg.UndefinedFunctionError as exc:
        raise ConfigurationError(
            f"this database has no function for {_query_name(statement)}: its delegated "
            "statements are another gamedb version's; run `gamedb distribute` to install this "
            "one's"
        ) from exc


def executor(conn: Executor, calls: Mapping[str, str] | None) -> Executor:
    """``conn`` itself on a single server (``calls`` is ``None``), else a :class:`Delegating`
    over it."""
    return conn if calls is None else Delegating(conn, calls)


class Delegating:
    """An :class:`~gamedb_gen.Executor` that sends the :data:`DELEGATED` statements as
    ``calls`` (:func:`delegated_calls`) and every other statement as it is."""

    __slots__ = ("_calls", "_conn")

    def __init__(self, conn: Executor, calls: Mapping[str, str]) -> None:
        self._conn = conn
        self._calls = calls

    async def execute(self, query: str, *args: object) -> str:
        return await self._conn.execute(query, *args)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        call = self._calls.get(query)
        if call is None:
            return await self._conn.fetch(query, *args)
        with _installed(query):
            return await self._conn.fetch(call, *args)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        call = self._calls.get(query)
        if call is None:
            return await self._conn.fetchrow(query, *args)
        with _installed(query):
            return await self._conn.fetchrow(call, *args)

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Iterable[Sequence[object]],
        columns: Iterable[str] | None = None,
        schema_name: str | None = None,
    ) -> str:
        return await self._conn.copy_records_to_table(
            table_name, records=records, columns=columns, schema_name=schema_name
        )


async def install(conn: asyncpg.Connection) -> list[str]:
    """Create and distribute the functions of :data:`DELEGATED` that the database lacks;
    return the names of those distributed now. Runs on the coordinator of a distributed
    database, in the transaction that distributed its tables; each statement's parameter and
    column types are the server's own description of it (wraps
    :meth:`asyncpg.Connection.prepare`)."""
    installed: list[str] = []
    for statement in DELEGATED:
        described = await conn.prepare(statement)
        columns = described.get_attributes()
        distributed = await citus.delegate_statement(
            conn,
            statement=statement,
            parameter_types=[parameter.oid for parameter in described.get_parameters()],
            column_names=[column.name for column in columns],
            column_types=[column.type.oid for column in columns],
        )
        if distributed is not None:
            installed.append(distributed)
    return installed
