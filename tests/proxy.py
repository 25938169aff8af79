"""An in-process TCP proxy between gamedb and the test server that injects network faults
and counts round trips.

It listens on 127.0.0.1 and forwards to the server of a database URL (TCP or Unix socket).
Faults switch at run time: pass, stall (a black hole: nothing moves either way, nothing is
closed), reset (both sides closed abruptly), delay (latency on every hop), and losing the
server's reply to a transaction's end after the server committed it::

    async with FaultProxy(database_url) as proxy:
        db = await Database.connect(proxy.route(database_url), db_pool_size=4)
        proxy.drop_commit_replies(count=10, of=100)    # lose 10 of the next 100 replies
        ...
        proxy.stall()                                   # black hole
        proxy.pass_through()                            # the held bytes flow again
        assert proxy.stats.replies_dropped == 10

A round trip is the client sending and then waiting for the server's answer before it sends
again. The proxy counts each turn of a conversation in which the client speaks after the
server did: a Parse/Describe the client flushes and waits on is one, the Bind/Execute after
it another, and a query a pool sends when it takes a connection back (asyncpg's default
reset) one more. Whatever the client library does underneath, that is what the wire carried::

    before = proxy.stats.round_trips
    await db.load_game_state(game_id)
    assert proxy.stats.round_trips - before <= 2

To find a transaction's end it reads just enough of the PostgreSQL protocol: every frontend
message is a type byte and an int32 length, except the startup packet (no type byte), and an
SSLRequest or GSSENCRequest is declined with ``N`` so the session stays readable. A
transaction ends with a simple Query ``COMMIT`` (asyncpg's ``transaction.commit()`` sends
``COMMIT;``), or, outside a transaction, with the Sync after an Execute of a writing
statement (the server commits implicitly at that Sync), or with a simple Query that writes.
A write is recognised by its text (INSERT, UPDATE ... SET, DELETE, MERGE, COPY FROM): a write
hidden in a function call is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import random
import re
import urllib.parse
from types import TracebackType
from typing import Self

__all__ = ["FaultProxy", "Mode", "ProxyStats"]

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_IDLE = ord("I")
_QUERY, _PARSE, _BIND, _EXECUTE, _SYNC = (ord(c) for c in "QPBES")
_COMMAND_COMPLETE, _ERROR, _READY_FOR_QUERY = (ord(c) for c in "CEZ")
_COMMITS = frozenset({"COMMIT", "COMMIT WORK", "COMMIT TRANSACTION", "END", "END TRANSACTION"})
# On Citus, gamedb sends some writes as calls of the functions it delegates them to
# (gamedb.delegation): gamedb_<query>_<hash>(...).
_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|DELETE\s+FROM|MERGE\s+INTO|UPDATE\s+[\w.\"]+(?:\s+(?:AS\s+)?\w+)?\s+SET"
    r"|COPY\s+[\w.\"]+.*?\bFROM\s+STDIN)\b|\bFROM\s+\"?gamedb_\w+_[0-9a-f]{10}\"?\(",
    re.IGNORECASE | re.DOTALL,
)


class Mode(enum.Enum):
    """What the proxy does with the bytes it relays."""

    PASS = "pass"
    STALL = "stall"
    RESET = "reset"
    DELAY = "delay"


@dataclasses.dataclass(slots=True)
class ProxyStats:
    """What the proxy saw and did since it started."""

    connections: int = 0
    """Client connections accepted."""
    resets: int = 0
    """Connections closed abruptly by :meth:`FaultProxy.reset` or while in RESET mode."""
    transactions: int = 0
    """Transaction ends relayed to the server (COMMITs and autocommit writes)."""
    replies_dropped: int = 0
    """Transaction ends whose reply the proxy swallowed before closing the client side."""
    dropped_after_commit: int = 0
    """Of those, the ones the server reported as committed."""
    round_trips: int = 0
    """Turns in which a client spoke after its server answered (or first spoke)."""


class _DropPlan:
    """Which transaction ends lose their reply: ``count`` chosen at random among the next
    ``of``, or each with ``probability``."""

    __slots__ = ("_chosen", "_probability", "_random", "_seen")

    def __init__(
        self, *, count: int | None, of: int | None, probability: float | None, seed: int
    ) -> None:
        self._random = random.Random(seed)
        self._seen = 0
        self._probability = probability
        self._chosen: frozenset[int] | None = None
        if count is not None:
            if of is None or not 0 <= count <= of:
                raise ValueError("drop_commit_replies(count=N, of=M) needs 0 <= N <= M")
            self._chosen = frozenset(self._random.sample(range(of), count))
        elif probability is None or not 0.0 <= probability <= 1.0:
            raise ValueError("give count= and of=, or a probability between 0 and 1")

    def drops_next(self) -> bool:
        index = self._seen
        self._seen += 1
        if self._chosen is not None:
            return index in self._chosen
        assert self._probability is not None
        return self._random.random() < self._probability


class _Link:
    """One relayed client connection and what the proxy knows of its session."""

    __slots__ = (
        "answered",
        "client",
        "dropping",
        "portals",
        "server",
        "server_status",
        "statements",
        "write_since_sync",
    )

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server
        self.server_status = _IDLE
        self.statements: dict[bytes, bool] = {}
        self.portals: dict[bytes, bool] = {}
        self.write_since_sync = False
        self.dropping = False
        # Whether the server has spoken since the client last did: the client's next bytes
        # then open a new round trip.
        self.answered = True

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


def _cstring(body: bytes, start: int = 0) -> tuple[bytes, int]:
    end = body.index(0, start)
    return body[start:end], end + 1


class FaultProxy:
    """Relays 127.0.0.1:<ephemeral port> to the server named by ``target_url``."""

    __slots__ = (
        "_drop_plan",
        "_flowing",
        "_latency",
        "_links",
        "_mode",
        "_server",
        "_target",
        "_tasks",
        "stats",
    )

    def __init__(self, target_url: str) -> None:
        self._target = urllib.parse.urlsplit(target_url)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._mode = Mode.PASS
        self._latency = 0.0
        self._drop_plan: _DropPlan | None = None
        self.stats = ProxyStats()

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        # Reset everything rather than cancel the connection handlers: asyncio's server
        # reports a cancelled handler as an error.
        self.reset()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None, "use the proxy inside `async with`"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def route(self, url: str, *, password: str | None = None) -> str:
        """``url``'s user and database, reached through the proxy (with ``password`` when
        given, else ``url``'s own)."""
        parts = urllib.parse.urlsplit(url)
        user = urllib.parse.quote(parts.username or "postgres", safe="")
        secret = password if password is not None else parts.password
        auth = f"{user}:{urllib.parse.quote(secret, safe='')}" if secret else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}{parts.path}"

    # ---- faults --------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    def pass_through(self) -> None:
        """Relay everything at once again; bytes held by a stall flow on."""
        self._mode = Mode.PASS
        self._latency = 0.0
        self._flowing.set()

    def stall(self) -> None:
        """Black hole: hold every byte either way and every new connection, close nothing."""
        self._mode = Mode.STALL
        self._flowing.clear()

    def reset(self) -> None:
        """Close every relayed connection abruptly, and every new one until
        :meth:`pass_through`."""
        self._mode = Mode.RESET
        self._flowing.set()
        for link in list(self._links):
            self.stats.resets += 1
            link.abort()

    def delay(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before relaying it, either way."""
        self._mode = Mode.DELAY
        self._latency = seconds
        self._flowing.set()

    def drop_commit_replies(
        self,
        *,
        count: int | None = None,
        of: int | None = None,
        probability: float | None = None,
        seed: int = 0,
    ) -> None:
        """Lose the server's reply to ``count`` of the next ``of`` transaction ends (chosen at
        random), or to each with ``probability``: the end is relayed, the server commits, its
        reply is swallowed and both sides of that connection are closed."""
        self._drop_plan = _DropPlan(count=count, of=of, probability=probability, seed=seed)

    # ---- relaying ------------------------------------------------------------------------

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        query = urllib.parse.parse_qs(self._target.query)
        host = query.get("host", [self._target.hostname or "localhost"])[0]
        port = int(query.get("port", [str(self._target.port or 5432)])[0])
        if host.startswith("/"):
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def _hop(self) -> None:
        await self._flowing.wait()
        if self._latency:
            await asyncio.sleep(self._latency)
            await self._flowing.wait()

    async def _accept(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        try:
            # A black hole holds new connections too: the client's connect times out.
            await self._flowing.wait()
            if self._mode is Mode.RESET:
                self.stats.resets += 1
                client.transport.abort()
                return
            try:
                server_in, server = await self._open_target()
            except OSError:
                client.transport.abort()
                return
            link = _Link(client, server)
            self._links.add(link)
            pumps = [
                asyncio.create_task(self._client_to_server(link, client_in)),
                asyncio.create_task(self._server_to_client(link, server_in)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.wait(pumps)
                self._links.discard(link)
                link.abort()
        finally:
            self._tasks.discard(task)

    async def _client_to_server(self, link: _Link, source: asyncio.StreamReader) -> None:
        pending = bytearray()
        starting = True
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if link.answered:
                    link.answered = False
                    self.stats.round_trips += 1
                await self._hop()
                pending += data
                relay = bytearray()
                while True:
                    if starting:
                        if len(pending) < 8:
                            break
                        end = int.from_bytes(pending[:4], "big")
                        if len(pending) < end:
                            break
                        code = int.from_bytes(pending[4:8], "big")
                        if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                            link.client.write(b"N")  # no encryption: the session stays readable
                            link.answered = True
                        else:
                            relay += pending[:end]
                            starting = False
                        del pending[:end]
                        continue
                    if len(pending) < 5:
                        break
                    end = 1 + int.from_bytes(pending[1:5], "big")
                    if len(pending) < end:
                        break
                    if self._ends_transaction(link, pending[0], bytes(pending[5:end])):
                        self.stats.transactions += 1
                        if self._drop_plan is not None and self._drop_plan.drops_next():
                            link.dropping = True
                    relay += pending[:end]
                    del pending[:end]
                if relay:
                    link.server.write(relay)
                    await link.server.drain()

    def _ends_transaction(self, link: _Link, kind: int, body: bytes) -> bool:
        if kind == _QUERY:
            text = body.rstrip(b"\0").decode(errors="replace").strip().rstrip(";").strip()
            if " ".join(text.upper().split()) in _COMMITS:
                return True
            return link.server_status == _IDLE and bool(_WRITE.search(text))
        if kind == _PARSE:
            name, offset = _cstring(body)
            statement_text, _ = _cstring(body, offset)
            link.statements[name] = bool(_WRITE.search(statement_text.decode(errors="replace")))
        elif kind == _BIND:
            portal, offset = _cstring(body)
            statement, _ = _cstring(body, offset)
            link.portals[portal] = link.statements.get(statement, False)
        elif kind == _EXECUTE:
            portal, _ = _cstring(body)
            link.write_since_sync |= link.portals.get(portal, False)
        elif kind == _SYNC:
            wrote, link.write_since_sync = link.write_since_sync, False
            return wrote and link.server_status == _IDLE
        return False

    async def _server_to_client(self, link: _Link, source: asyncio.StreamReader) -> None:
        pending = bytearray()
        committed = True
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                link.answered = True
                await self._hop()
                pending += data
                if not link.dropping:
                    link.client.write(data)
                while len(pending) >= 5:
                    end = 1 + int.from_bytes(pending[1:5], "big")
                    if len(pending) < end:
                        break
                    kind = pending[0]
                    if kind == _READY_FOR_QUERY:
                        link.server_status = pending[5]
                        if link.dropping:
                            # The server has answered: its commit is done (or refused).
                            self.stats.replies_dropped += 1
                            self.stats.dropped_after_commit += committed
                            link.abort()
                            return
                        committed = True
                    elif kind == _ERROR or (
                        kind == _COMMAND_COMPLETE and pending[5:end].startswith(b"ROLLBACK")
                    ):
                        committed = False
                    del pending[:end]
                if not link.dropping:
                    await link.client.drain()
