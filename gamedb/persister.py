"""Write-behind persistence: the engine hands writes off and carries on; gamedb commits them in
order, grouped into few transactions, bounded, retried through transient faults, and drained
on close. Nothing is acknowledged before its transaction commits::

    async with GamePersister(db) as persister:
        handle = await persister.save_play(play)            # returns as soon as it is queued
        await persister.update_game_state(game_id=gid, inning=1, half="top",
                                          home_score=0, away_score=0)
        play_id = await handle                               # only when the commit matters
        await persister.flush(gid)                           # everything of the game committed

Each game is one ordered stream. A worker takes every write the games ready now have queued
(up to ``max_group`` in all, and never past a game's rollback) and commits them in one
transaction (:meth:`Database.transaction`) through that transaction's operations only, so a
write is accepted or refused by the same rules, with the same typed error, as the direct
call: every game's plays and states in one :meth:`~Transaction.record_plays_batch`
statement, roll batches through :meth:`~Transaction.save_rolls_batch`, substitutions in
order, each game's last session snapshot, and rollbacks last. Every write is keyed (plays by
number, rolls by ``roll_id``, substitutions by team and card/player, states and snapshots
are absolute values), so a group retried after an unknown commit outcome writes nothing
twice. A group that runs into ``statement_timeout`` is split in two, not re-run. A permanent
failure is traced to its game (the other games are committed without it) and to its write:
it fails that write's handle, fails the game's later writes with :class:`StreamStopped`, and
stops the game's stream until :meth:`GamePersister.resume`; other games carry on.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import logging
import time
import uuid
import warnings
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import Annotated, Any, Generic, Protocol, Self, TypeAlias, TypeVar

from pydantic import Field, InstanceOf, JsonValue, StrictInt

from gamedb.database import Database, Transaction
from gamedb.errors import (
    GameDBError,
    InvalidInput,
    PersisterClosed,
    StatementTimeout,
    StreamStopped,
    TransientError,
)
from gamedb.models import (
    GAME_ID,
    ROLLBACK_TO,
    STATE_SNAPSHOT,
    PlayData,
    RollbackResult,
    RollRecord,
    StateChange,
    SubstitutionData,
)
from gamedb.retry import RetryPolicy, retrying
from gamedb.validation import Argument, validate_input, validate_inputs
from gamedb_gen.models import GameStatus, Half, Lineup

__all__ = [
    "CloseReport",
    "GamePersister",
    "GroupWriter",
    "PersisterClosed",
    "PersisterMetrics",
    "StreamStopped",
    "UnwrittenWrite",
    "WriteHandle",
    "WriteKind",
]

T = TypeVar("T")
log = logging.getLogger("gamedb.persister")

# Workers cancelled mid-query wait for the server to confirm the cancel; a black-holed
# server never does, so close() waits this long for them, no longer.
_SHUTDOWN_GRACE = 5.0


class WriteKind(enum.StrEnum):
    """What a queued write does."""

    PLAY = "play"
    GAME_STATE = "game_state"
    ROLLS = "rolls"
    SUBSTITUTION = "substitution"
    SESSION_SNAPSHOT = "session_snapshot"
    ROLLBACK = "rollback"


class WriteHandle(Generic[T]):
    """The engine's receipt for one write: awaiting it returns once the write's transaction
    committed (a play's id, a substitution's lineup row, a rollback's result, else ``None``)
    or raises the typed error it failed with. Awaiting is optional, and cancelling an await
    does not cancel the write::

        handle = await persister.save_rolls(rolls)
        await handle            # the dice are durable: reveal them
    """

    __slots__ = ("_future", "game_id", "kind")

    def __init__(
        self, future: asyncio.Future[Any], game_id: uuid.UUID | None, kind: WriteKind
    ) -> None:
        self._future = future
        self.game_id = game_id
        self.kind = kind

    def __repr__(self) -> str:
        state = "pending" if not self._future.done() else "done"
        return f"<WriteHandle {self.kind} game={self.game_id} {state}>"

    def done(self) -> bool:
        """Whether the write has committed or failed."""
        return self._future.done()

    def __await__(self) -> Generator[Any, None, T]:
        result: T = yield from asyncio.shield(self._future).__await__()
        return result


@dataclasses.dataclass(frozen=True, slots=True)
class UnwrittenWrite:
    """A write ``close()`` could not commit by its deadline. ``in_flight`` writes were in a
    transaction that was interrupted, so they may have committed; resending them is safe,
    since every write is keyed."""

    game_id: uuid.UUID
    kind: WriteKind
    detail: str
    in_flight: bool


@dataclasses.dataclass(frozen=True, slots=True)
class CloseReport:
    """What ``close()`` left behind: writes not committed by the deadline (their handles
    failed with :class:`PersisterClosed`) and the games stopped by a permanent failure."""

    unwritten: tuple[UnwrittenWrite, ...]
    failed_games: Mapping[uuid.UUID, GameDBError]
    committed: int
    elapsed: float

    @property
    def clean(self) -> bool:
        """Every write handed off was committed."""
        return not self.unwritten and not self.failed_games


@dataclasses.dataclass(frozen=True, slots=True)
class PersisterMetrics:
    """A snapshot of the persister's state and counters since it was created."""

    queue_depth: int
    """Writes handed off and not yet committed or failed (bounded by ``max_queued``)."""
    in_flight: int
    """Of those, writes inside a transaction right now."""
    lag: float
    """Seconds the oldest of them has been waiting."""
    committed: int
    committed_by_kind: Mapping[WriteKind, int]
    transactions: int
    """Groups committed; ``committed / transactions`` is the mean group size."""
    max_group_size: int
    last_group_size: int
    retries: int
    """Group transactions re-run after a transient failure."""
    splits: int
    """Groups split in two after running into ``statement_timeout``."""
    failed: int
    """Writes whose handle raised: a permanent error, a stopped stream, or the close deadline."""
    games_stopped: int
    handoff_waits: int
    """Hand-offs that waited for queue space (backpressure)."""

    @property
    def mean_group_size(self) -> float:
        return self.committed / self.transactions if self.transactions else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class _SnapshotWrite:
    snapshot: JsonValue


@dataclasses.dataclass(frozen=True, slots=True)
class _RollbackWrite:
    play_number: int


_Payload: TypeAlias = (
    PlayData
    | StateChange
    | tuple[RollRecord, ...]
    | SubstitutionData
    | _SnapshotWrite
    | _RollbackWrite
)


class _Write:
    __slots__ = ("future", "game_id", "kind", "payload", "queued_at", "result")

    def __init__(
        self, game_id: uuid.UUID, kind: WriteKind, payload: _Payload, future: asyncio.Future[Any]
    ) -> None:
        self.game_id = game_id
        self.kind = kind
        self.payload = payload
        self.future = future
        self.queued_at = time.monotonic()
        self.result: object = None

    def describe(self) -> str:
        payload = self.payload
        if isinstance(payload, PlayData):
            return f"play {payload.play_number}"
        if isinstance(payload, _RollbackWrite):
            return f"rollback to play {payload.play_number}"
        if isinstance(payload, tuple):
            return f"{len(payload)} rolls ({', '.join(r.roll_id for r in payload[:3])}...)"
        if isinstance(payload, SubstitutionData):
            return f"substitution for lineup entry {payload.replacing_id}"
        if isinstance(payload, StateChange):
            return (
                f"game state {payload.inning} {payload.half} "
                f"{payload.away_score}-{payload.home_score}"
            )
        return "session snapshot"


class _Stream:
    """One game's queued writes; a worker owns it while it is ``scheduled``."""

    __slots__ = ("game_id", "in_flight", "last", "pending", "scheduled")

    def __init__(self, game_id: uuid.UUID) -> None:
        self.game_id = game_id
        self.pending: collections.deque[_Write] = collections.deque()
        self.in_flight: list[_Write] = []
        self.last: asyncio.Future[Any] | None = None
        self.scheduled = False


@dataclasses.dataclass(slots=True)
class _Group:
    """The writes of one game a transaction carries, in the order they were handed off."""

    stream: _Stream
    writes: list[_Write]


class GroupWriter(Protocol):
    """Applies the groups of one commit in one transaction: every write of them, or (raising)
    none. The persister's one tie to the database: given a :class:`Database`, it writes
    through :meth:`Database.transaction`; given a writer of its own, the queue's rules
    (order, grouping, backpressure, retries, stopped games, the close deadline) run with no
    server, e.g. in a unit test::

        async def record(groups: list[_Group]) -> None:
            commits.append([(w.game_id, w.kind) for g in groups for w in g.writes])

        persister = GamePersister(record, workers=1)
    """

    async def __call__(self, groups: list[_Group], /) -> None: ...


class _TransactionWriter:
    """The writer over a :class:`Database`: one transaction, written through its operations."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __call__(self, groups: list[_Group], /) -> None:
        async with self._db.transaction() as tx:
            await _apply(tx, groups)


class _Oversized(Exception):
    """A group's statement ran into ``statement_timeout``: it must be split, not re-run."""


_AtLeastOne = Annotated[StrictInt, Field(ge=1)]
_MAX_QUEUED: Argument[int] = Argument("max_queued", _AtLeastOne)
_MAX_GROUP: Argument[int] = Argument("max_group", _AtLeastOne)
_WORKERS: Argument[int | None] = Argument("workers", _AtLeastOne | None)
_GAMES_PER_GROUP: Argument[int | None] = Argument("games_per_group", _AtLeastOne | None)
_RETRY: Argument[RetryPolicy | None] = Argument("retry", InstanceOf[RetryPolicy] | None)


class GamePersister:
    """Takes the engine's writes off the game loop; see the module docstring for the rules.

    ``db`` is the :class:`Database` the writes go to, or a :class:`GroupWriter` that applies
    each commit itself (with one worker unless ``workers`` says otherwise).
    ``max_queued`` bounds the writes handed off and not yet committed (a roll batch is one
    write); at the limit the hand-off waits. ``max_group`` bounds one transaction. ``retry``
    governs transient failures (default: the :class:`RetryPolicy` defaults); a group still
    failing at its deadline fails with :class:`TransientError` and stops its games like a
    permanent error (if the last failure hit its COMMIT, it may have committed: resending is
    safe). ``workers`` bounds the concurrent transactions (default: half the pool's
    connections, leaving the rest to the engine's own reads). ``games_per_group`` bounds the
    games one transaction carries (default: as many as ``max_group`` allows, but one on
    Citus, where a transaction that spans games spans shards and costs a two-phase commit).

    Close it (``async with`` or :meth:`close`): a persister dropped, or whose event loop
    ends, with writes still queued warns with a :class:`ResourceWarning` and logs an error
    naming how many writes were never written.
    """

    __slots__ = (
        "_closed",
        "_closing",
        "_committed",
        "_failed",
        "_failures",
        "_games_per_group",
        "_handoff_waits",
        "_last_group",
        "_max_group",
        "_max_group_seen",
        "_max_queued",
        "_queued",
        "_ready",
        "_retries",
        "_retry",
        "_space_waiters",
        "_splits",
        "_streams",
        "_tasks",
        "_transactions",
        "_warned",
        "_workers",
        "_writer",
    )

    def __init__(
        self,
        db: Database | GroupWriter,
        *,
        max_queued: int = 10_000,
        max_group: int = 500,
        retry: RetryPolicy | None = None,
        workers: int | None = None,
        games_per_group: int | None = None,
    ) -> None:
        self._max_queued = _MAX_QUEUED(max_queued)
        self._max_group = _MAX_GROUP(max_group)
        self._retry = _RETRY(retry) or RetryPolicy()
        if isinstance(db, Database):
            self._writer: GroupWriter = _TransactionWriter(db)
            default_workers = max(1, db.max_connections // 2)
            # On Citus a transaction that spans games spans shards: a two-phase commit each.
            default_games_per_group = 1 if db._on_citus else self._max_group
        else:
            self._writer = db
            default_workers = 1
            default_games_per_group = self._max_group
        self._workers = _WORKERS(workers) or default_workers
        self._games_per_group = _GAMES_PER_GROUP(games_per_group) or default_games_per_group
        self._streams: dict[uuid.UUID, _Stream] = {}
        self._failures: dict[uuid.UUID, GameDBError] = {}
        self._ready: asyncio.Queue[_Stream] = asyncio.Queue()
        self._space_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._queued = 0
        self._closing = False
        self._closed: asyncio.Task[CloseReport] | None = None
        self._warned = False
        self._committed: collections.Counter[WriteKind] = collections.Counter()
        self._transactions = 0
        self._retries = 0
        self._splits = 0
        self._failed = 0
        self._handoff_waits = 0
        self._last_group = 0
        self._max_group_seen = 0

    def __del__(self) -> None:
        if not getattr(self, "_closing", True):
            self._warn_unclosed("garbage-collected")

    def _warn_unclosed(self, how: str) -> None:
        if self._warned or not self._queued:
            return
        self._warned = True
        message = (
            f"GamePersister {how} without close(): {self._queued} writes handed off were "
            "never written; close it (async with GamePersister(db) as persister: ...)"
        )
        log.error("gamedb persister %s", message)
        warnings.warn(message, ResourceWarning, stacklevel=2)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers (the first hand-off also does)."""
        if self._closing:
            raise PersisterClosed("the persister is closed")
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"gamedb-persister-{n}")
                for n in range(self._workers)
            ]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def flush(self, game_id: uuid.UUID | str | None = None) -> None:
        """Wait until every write queued so far (of ``game_id``, or of every game) has
        committed or failed. For one game, raises :class:`StreamStopped` when the game's
        stream is stopped; without a game, check :meth:`failure`."""
        gid = None if game_id is None else GAME_ID(game_id)
        streams = (
            list(self._streams.values())
            if gid is None
            else [s for s in (self._streams.get(gid),) if s is not None]
        )
        waiting = [s.last for s in streams if s.last is not None and not s.last.done()]
        if waiting:
            await asyncio.wait(waiting)
        if gid is not None and (error := self._failures.get(gid)) is not None:
            raise StreamStopped(gid, error)

    async def close(self, timeout: float = 30.0) -> CloseReport:
        """Refuse new writes, commit everything queued within ``timeout`` seconds, stop the
        workers, and report what could not be written (those handles raise
        :class:`PersisterClosed`). Every call, concurrent or later, waits for the same
        closing and returns the same report."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_task(self._close(timeout))
        return await asyncio.shield(self._closed)

    async def _close(self, timeout: float) -> CloseReport:
        started = time.monotonic()
        self._closing = True
        for waiter in self._space_waiters:
            if not waiter.done():
                waiter.set_exception(PersisterClosed("the persister closed during the hand-off"))
        waiting = [s.last for s in self._streams.values() if s.last and not s.last.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=_SHUTDOWN_GRACE)
        unwritten: list[UnwrittenWrite] = []
        for stream in self._streams.values():
            for in_flight, writes in ((True, stream.in_flight), (False, stream.pending)):
                for write in writes:
                    if write.future.done():
                        continue
                    unwritten.append(
                        UnwrittenWrite(write.game_id, write.kind, write.describe(), in_flight)
                    )
                    self._fail(
                        write,
                        PersisterClosed(
                            f"game {write.game_id}: {write.describe()} was not written by the "
                            f"close deadline ({timeout:g} s)"
                            + ("; its transaction was interrupted" if in_flight else ""),
                            game_id=write.game_id,
                            in_flight=in_flight,
                        ),
                    )
        self._streams.clear()
        report = CloseReport(
            unwritten=tuple(unwritten),
            failed_games=dict(self._failures),
            committed=sum(self._committed.values()),
            elapsed=time.monotonic() - started,
        )
        if unwritten:
            log.error(
                "gamedb persister closed with %d writes not written (%d in flight) in %d games",
                len(unwritten),
                sum(w.in_flight for w in unwritten),
                len({w.game_id for w in unwritten}),
            )
        return report

    # ---- hand-off ------------------------------------------------------------------------

    async def save_play(self, play: PlayData | Mapping[str, Any]) -> WriteHandle[int]:
        """Queue a play (see :meth:`Database.save_play`); the handle gives its id."""
        data = validate_input(PlayData, play)
        return await self._hand_off(data.game_id, WriteKind.PLAY, data)

    async def update_game_state(
        self,
        *,
        game_id: uuid.UUID | str,
        inning: int,
        half: Half | str,
        home_score: int,
        away_score: int,
        outs: int | None = None,
        status: GameStatus | str | None = None,
    ) -> WriteHandle[None]:
        """Queue the game's state (see :meth:`Database.update_game_state`). States queued
        one after another are written as the last leaves them: ``outs`` / ``status`` left
        ``None`` keep the earlier ones'."""
        change = StateChange.of(game_id, inning, half, home_score, away_score, outs, status)
        return await self._hand_off(change.game_id, WriteKind.GAME_STATE, change)

    async def save_rolls(
        self, rolls_: Sequence[RollRecord | Mapping[str, Any]]
    ) -> WriteHandle[None]:
        """Queue a batch of one game's rolls (see :meth:`Database.save_rolls_batch`)."""
        batch = tuple(validate_inputs(RollRecord, rolls_, field="rolls"))
        if not batch:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return WriteHandle(done, None, WriteKind.ROLLS)
        gid = batch[0].game_id
        if any(roll.game_id != gid for roll in batch):
            # One game's writes keep their order; a batch of several games has none to keep.
            raise InvalidInput("a roll batch must belong to one game", game_id=gid)
        return await self._hand_off(gid, WriteKind.ROLLS, batch)

    async def add_substitution(
        self,
        *,
        game_id: uuid.UUID | str,
        replacing_id: int,
        after_play: int,
        position: str,
        card_id: int | None = None,
        player_id: int | None = None,
        batting_order: int | None = None,
    ) -> WriteHandle[Lineup]:
        """Queue a substitution (see :meth:`Database.add_substitution`); the handle gives the
        new lineup row."""
        substitution = SubstitutionData.of(
            game_id, replacing_id, after_play, position, card_id, player_id, batting_order
        )
        return await self._hand_off(substitution.game_id, WriteKind.SUBSTITUTION, substitution)

    async def update_session_snapshot(
        self, game_id: uuid.UUID | str, state_snapshot: JsonValue
    ) -> WriteHandle[None]:
        """Queue the engine's state snapshot (of consecutive queued ones only the last is
        written). The snapshot is copied at hand-off, so the engine may keep mutating its own."""
        gid = GAME_ID(game_id)
        snapshot = STATE_SNAPSHOT(state_snapshot, gid)
        return await self._hand_off(gid, WriteKind.SESSION_SNAPSHOT, _SnapshotWrite(snapshot))

    async def rollback_to_play(
        self, game_id: uuid.UUID | str, play_number: int
    ) -> WriteHandle[RollbackResult]:
        """Queue a rollback to just after ``play_number`` (see :meth:`Database.rollback_to_play`).
        It applies after every earlier write of the game and before every later one."""
        gid = GAME_ID(game_id)
        number = ROLLBACK_TO(play_number, gid)
        return await self._hand_off(gid, WriteKind.ROLLBACK, _RollbackWrite(number))

    # ---- state ---------------------------------------------------------------------------

    def failure(self, game_id: uuid.UUID | str) -> GameDBError | None:
        """The error that stopped the game's stream, or ``None`` while it runs."""
        return self._failures.get(GAME_ID(game_id))

    def resume(self, game_id: uuid.UUID | str) -> GameDBError | None:
        """Accept writes for a stopped game again (once the engine has dealt with the
        failure, e.g. reloaded the game); returns the error that had stopped it."""
        return self._failures.pop(GAME_ID(game_id), None)

    @property
    def metrics(self) -> PersisterMetrics:
        now = time.monotonic()
        oldest = now
        in_flight = 0
        for stream in self._streams.values():
            in_flight += sum(not write.future.done() for write in stream.in_flight)
            head = (
                stream.in_flight[0]
                if stream.in_flight
                else (stream.pending[0] if stream.pending else None)
            )
            if head is not None:
                oldest = min(oldest, head.queued_at)
        return PersisterMetrics(
            queue_depth=self._queued,
            in_flight=in_flight,
            lag=now - oldest,
            committed=sum(self._committed.values()),
            committed_by_kind=dict(self._committed),
            transactions=self._transactions,
            max_group_size=self._max_group_seen,
            last_group_size=self._last_group,
            retries=self._retries,
            splits=self._splits,
            failed=self._failed,
            games_stopped=len(self._failures),
            handoff_waits=self._handoff_waits,
        )

    # ---- queue ---------------------------------------------------------------------------

    def _refuse(self, game_id: uuid.UUID) -> None:
        if self._closing:
            raise PersisterClosed("the persister is closed", game_id=game_id)
        error = self._failures.get(game_id)
        if error is not None:
            raise StreamStopped(game_id, error)

    async def _hand_off(
        self, game_id: uuid.UUID, kind: WriteKind, payload: _Payload
    ) -> WriteHandle[Any]:
        self._refuse(game_id)
        if self._queued < self._max_queued and not self._space_waiters:
            self._queued += 1
        else:
            await self._wait_for_space()
            try:
                self._refuse(game_id)
            except GameDBError:
                self._free_slot()
                raise
        loop = asyncio.get_running_loop()
        write = _Write(game_id, kind, payload, loop.create_future())
        stream = self._streams.get(game_id)
        if stream is None:
            stream = self._streams[game_id] = _Stream(game_id)
        stream.pending.append(write)
        stream.last = write.future
        if not stream.scheduled:
            stream.scheduled = True
            self._ready.put_nowait(stream)
        if not self._tasks:
            await self.start()
        return WriteHandle(write.future, game_id, kind)

    async def _wait_for_space(self) -> None:
        """Wait until a slot is handed over by :meth:`_free_slot` (first come, first served)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._space_waiters.append(waiter)
        self._handoff_waits += 1
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._free_slot()
            raise

    def _free_slot(self) -> None:
        while self._space_waiters:
            waiter = self._space_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._queued -= 1

    def _resolve(self, write: _Write) -> None:
        if not write.future.done():
            write.future.set_result(write.result)
        self._committed[write.kind] += 1
        self._free_slot()

    def _fail(self, write: _Write, error: GameDBError) -> None:
        if not write.future.done():
            write.future.set_exception(error)
            # Marks the error retrieved: a handle the engine never awaits must not log a
            # second time what the persister logged and kept already.
            write.future.exception()
        self._failed += 1
        self._free_slot()

    # ---- workers -------------------------------------------------------------------------

    async def _work(self) -> None:
        try:
            while True:
                await self._write_ready(await self._ready.get())
        except asyncio.CancelledError:
            if not self._closing:
                self._warn_unclosed("stopped with its event loop")
            raise

    async def _write_ready(self, first: _Stream) -> None:
        # A method of its own, so an idle worker holds no written group in memory.
        groups = self._take_groups(first)
        await self._write_groups(groups)
        for group in groups:
            stream = group.stream
            stream.in_flight = []
            if stream.pending:
                self._ready.put_nowait(stream)
            else:
                stream.scheduled = False
                if self._streams.get(stream.game_id) is stream:
                    del self._streams[stream.game_id]

    def _take_groups(self, first: _Stream) -> list[_Group]:
        """The writes of ``first`` and of every other game ready now, up to ``max_group``
        in all: one transaction for many games."""
        groups = [self._take_group(first, self._max_group)]
        budget = self._max_group - len(groups[0].writes)
        while budget > 0 and len(groups) < self._games_per_group and not self._ready.empty():
            group = self._take_group(self._ready.get_nowait(), budget)
            groups.append(group)
            budget -= len(group.writes)
        return groups

    @staticmethod
    def _take_group(stream: _Stream, budget: int) -> _Group:
        writes: list[_Write] = []
        while stream.pending and len(writes) < budget:
            write = stream.pending.popleft()
            writes.append(write)
            # A rollback ends its group, so a retried group never re-applies writes made
            # before the rollback on top of writes made after it.
            if write.kind is WriteKind.ROLLBACK:
                break
        stream.in_flight = writes
        return _Group(stream, writes)

    async def _write_groups(self, groups: list[_Group]) -> None:
        """Commit ``groups`` in one transaction; on failure find who failed: a game's
        permanent error stops that game alone, and the others are written without it."""
        groups = [group for group in groups if group.writes]
        if not groups:
            return
        try:
            await self._commit(groups)
        except _Oversized:
            self._splits += 1
            await self._write_halves(groups)
            return
        except GameDBError as error:
            if isinstance(error, TransientError):
                # Retries ran out: replaying the writes in smaller groups would only wait
                # out the same fault again.
                for group in groups:
                    self._stop(group.stream, group.writes, error)
                return
            await self._isolate(groups, error)
            return
        size = sum(len(group.writes) for group in groups)
        self._transactions += 1
        self._last_group = size
        self._max_group_seen = max(self._max_group_seen, size)
        for group in groups:
            for write in group.writes:
                self._resolve(write)

    async def _isolate(self, groups: list[_Group], error: GameDBError) -> None:
        if len(groups) > 1:
            culprits = [group for group in groups if group.stream.game_id == error.game_id]
            if culprits:
                await self._write_groups([g for g in groups if g not in culprits])
                await self._write_groups(culprits)
            else:
                # A statement of many games failed without naming one: halve until it does.
                middle = len(groups) // 2
                await self._write_groups(groups[:middle])
                await self._write_groups(groups[middle:])
            return
        (group,) = groups
        if len(group.writes) == 1:
            self._stop(group.stream, group.writes, error)
            return
        # Commit the game's writes one at a time, in order, to find the failing one: the
        # writes before it stand, it and the rest fail.
        for index, write in enumerate(group.writes):
            if self._failures.get(group.stream.game_id) is not None:
                self._stop_later(group.stream, group.writes[index:])
                return
            await self._write_groups([_Group(group.stream, [write])])

    async def _write_halves(self, groups: list[_Group]) -> None:
        """A group too large for ``statement_timeout``: write it in two halves, each game's
        writes still in order (a game stopped by the first half fails the second)."""
        if len(groups) > 1:
            middle = len(groups) // 2
            await self._write_groups(groups[:middle])
            await self._write_groups(groups[middle:])
            return
        (group,) = groups
        middle = len(group.writes) // 2
        await self._write_groups([_Group(group.stream, group.writes[:middle])])
        if self._failures.get(group.stream.game_id) is not None:
            self._stop_later(group.stream, group.writes[middle:])
            return
        await self._write_groups([_Group(group.stream, group.writes[middle:])])

    def _stop_later(self, stream: _Stream, writes: list[_Write]) -> None:
        error = self._failures[stream.game_id]
        for write in writes:
            self._fail(write, StreamStopped(stream.game_id, error))

    def _stop(self, stream: _Stream, writes: list[_Write], error: GameDBError) -> None:
        first, *later = writes
        later.extend(stream.pending)
        stream.pending.clear()
        self._failures[stream.game_id] = error
        log.error(
            "gamedb persister stopped game %s: %s failed: %s (%d later writes not written)",
            stream.game_id,
            first.describe(),
            error,
            len(later),
        )
        self._fail(first, error)
        for write in later:
            self._fail(write, StreamStopped(stream.game_id, error))

    async def _commit(self, groups: list[_Group]) -> None:
        """Apply ``groups`` in one transaction, re-running all of it on transient failures;
        raises :class:`_Oversized` when more than one write ran into ``statement_timeout``."""
        size = sum(len(group.writes) for group in groups)
        game_id = groups[0].stream.game_id if len(groups) == 1 else None

        async def attempt() -> None:
            try:
                await self._writer(groups)
            except StatementTimeout as exc:
                if size > 1:
                    raise _Oversized from exc
                raise

        try:
            await retrying(
                attempt,
                policy=self._retry,
                what=f"persister group of {size} writes of {len(groups)} games",
                game_id=game_id,
                retryable=_retryable,
                on_retry=self._count_retry,
                log=log,
            )
        except (GameDBError, _Oversized):
            raise
        except Exception as exc:
            raise GameDBError(
                f"{'' if game_id is None else f'game {game_id}: '}unexpected error writing "
                f"{size} writes: {exc!r}",
                game_id=game_id,
            ) from exc

    def _count_retry(self) -> None:
        self._retries += 1


def _retryable(error: GameDBError) -> bool:
    # Beyond is_transient: a full pool, and a lone write cancelled by statement_timeout (a
    # long lock); the writes are the persister's own, and every one is keyed, so running the
    # transaction again is always safe.
    return isinstance(error, TransientError)


_CHECKS_PLAYS = frozenset({WriteKind.ROLLS, WriteKind.SUBSTITUTION})
"""Writes refused unless the play they follow is stored (a roll: its play or the one
before it)."""


async def _apply(tx: Transaction, groups: list[_Group]) -> None:
    """Write ``groups`` inside ``tx`` through its operations, each write's result kept on
    it, in rounds: a game's writes are cut before a play handed off after one of its roll
    batches or substitutions (which check the plays stored before them), and the n-th part
    of every game goes in round n. A rollback (always the last write of its game's group)
    comes after every round."""
    parts = [_cut_before_checked_plays(group) for group in groups]
    for round_ in range(max(len(cut) for cut in parts)):
        await _apply_round(tx, [cut[round_] for cut in parts if round_ < len(cut)])
    for group in groups:
        last = group.writes[-1]
        if isinstance(last.payload, _RollbackWrite):
            last.result = await tx.rollback_to_play(group.stream.game_id, last.payload.play_number)


def _cut_before_checked_plays(group: _Group) -> list[_Group]:
    parts = [_Group(group.stream, [])]
    checks_plays = False
    for write in group.writes:
        if checks_plays and write.kind is WriteKind.PLAY:
            parts.append(_Group(group.stream, []))
            checks_plays = False
        parts[-1].writes.append(write)
        checks_plays = checks_plays or write.kind in _CHECKS_PLAYS
    return parts


async def _apply_round(tx: Transaction, groups: list[_Group]) -> None:
    """Write one round: no play of it was handed off after a roll batch or substitution of
    its game, so plays may go first; the other kinds touch different rows and check nothing
    of each other. So each kind goes in bulk, in hand-off order: every game's plays and
    states in one statement, its roll batches in one (unless they share a roll_id: then the
    i-th of every game in one), every substitution in one, and each game's last snapshot."""
    played = [(w, w.payload) for g in groups for w in g.writes if isinstance(w.payload, PlayData)]
    states = [w.payload for g in groups for w in g.writes if isinstance(w.payload, StateChange)]
    if played or states:
        ids = await tx.record_plays_batch([play for _, play in played], states)
        for (write, _), play_id in zip(played, ids, strict=True):
            write.result = play_id
    roll_rounds: list[list[RollRecord]] = []
    for group in groups:
        batches: list[tuple[RollRecord, ...]] = [
            w.payload for w in group.writes if isinstance(w.payload, tuple)
        ]
        roll_ids = [roll.roll_id for batch in batches for roll in batch]
        if len(set(roll_ids)) == len(roll_ids):
            # Batches without a roll_id in common are one batch: nothing can depend on which
            # came first but the order they are kept in.
            batches = [tuple(roll for batch in batches for roll in batch)][: len(batches)]
        for index, batch in enumerate(batches):
            if index == len(roll_rounds):
                roll_rounds.append([])
            roll_rounds[index].extend(batch)
    for rolls_ in roll_rounds:
        await tx.save_rolls_batch(rolls_)
    substituted = [
        (w, w.payload) for g in groups for w in g.writes if isinstance(w.payload, SubstitutionData)
    ]
    if substituted:
        added = await tx.add_substitutions_batch([substitution for _, substitution in substituted])
        for (write, _), lineup in zip(substituted, added, strict=True):
            write.result = lineup
    for group in groups:
        snapshots = [w.payload for w in group.writes if isinstance(w.payload, _SnapshotWrite)]
        if snapshots:
            await tx.update_session_snapshot(group.stream.game_id, snapshots[-1].snapshot)
