"""A relay between gamedb and the test server that counts round trips on the wire.

A round trip is the client sending and then waiting for the server's answer before it sends
again. The relay counts each turn of the conversation in which the client speaks after the
server did: a Parse/Describe the client flushes and waits on is one, the Bind/Execute after
it another, and a query a pool sends when it takes a connection back (asyncpg's default
reset) one more. Whatever the client library does underneath, that is what the wire carried::

    async with RoundTripCounter(database_url) as relay:
        db = await Database.connect(relay.url, db_pool_size=1, db_max_overflow=0)
        before = relay.round_trips
        await db.load_game_state(game_id)
        assert relay.round_trips - before <= 2
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from types import TracebackType
from typing import Self

__all__ = ["RoundTripCounter"]


class RoundTripCounter:
    """Relays TCP connections on 127.0.0.1 to the server of ``target_url`` (TCP or Unix
    socket) and counts the turns in which a client speaks after its server answered."""

    __slots__ = ("_server", "_target", "_tasks", "round_trips")

    def __init__(self, target_url: str) -> None:
        self._target = urllib.parse.urlsplit(target_url)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0

    @property
    def url(self) -> str:
        """The target URL rewritten to go through the relay (TLS off, so it can read)."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        user = urllib.parse.quote(self._target.username or "postgres")
        password = urllib.parse.quote(self._target.password or "")
        return f"postgresql://{user}:{password}@127.0.0.1:{port}{self._target.path}?sslmode=disable"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        query = urllib.parse.parse_qs(self._target.query)
        host = query.get("host", [self._target.hostname or "localhost"])[0]
        port = int(query.get("port", [str(self._target.port or 5432)])[0])
        if host.startswith("/"):
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await self._open_target()
        # Whether the server has spoken since the client last did: the next client bytes
        # then open a new round trip.
        answered = [True]

        async def upstream() -> None:
            while data := await client_in.read(65536):
                if answered[0]:
                    answered[0] = False
                    self.round_trips += 1
                server_out.write(data)
                await server_out.drain()

        async def downstream() -> None:
            while data := await server_in.read(65536):
                answered[0] = True
                client_out.write(data)
                await client_out.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        for task in tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            client_out.close()
            server_out.close()
