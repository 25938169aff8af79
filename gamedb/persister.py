"""Write-behind persistence: the engine hands writes off and carries on; gamedb commits them in
order, grouped into few transactions, bounded, retried through transient faults, and drained
on close. Nothing is acknowledged before its transaction commits::

    async with GamePersister(db) as persister:
        handle = await persister.save_play(play)            # returns as soon as it is queued
        await persister.update_game_state(game_id=gid, inning=1, half="top",
                                          home_score=0, away_score=0)
        play_id = await handle                               # only when the commit matters
        await persister.flush(gid)                           # everything of the game committed

Each game is one ordered stream; games run in parallel on the pool. A worker takes every
write a game has queued (up to ``max_group``, and never past a rollback) and commits them in
one transaction (:meth:`Database.transaction`): plays in one ``SavePlays`` statement, rolls in
one ``SaveRolls``, substitutions in order, only the last game state and session snapshot, and
the rollback last. Every write is keyed (plays by number, rolls by ``roll_id``, substitutions
by team and card/player, states and snapshots are absolute values), so a group retried after
an unknown commit outcome writes nothing twice. A permanent failure fails that write's handle,
fails the game's later writes with :class:`StreamStopped`, and stops the game's stream until
:meth:`GamePersister.resume`; other games carry on.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import logging
import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import Annotated, Any, Generic, Self, TypeAlias, TypeVar

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, model_validator

from gamedb.database import Database, Transaction
from gamedb.errors import (
    DRIVER_ERRORS,
    ConstraintViolation,
    GameDBError,
    GameNotFound,
    InvalidInput,
    PlayNotFound,
    TransientError,
    is_transient,
    translate,
)
from gamedb.models import GameState, PlayData, RollbackResult, RollRecord, validate_input
from gamedb.retry import RetryPolicy
from gamedb.validation import as_game_id, as_game_state, as_int32, as_stored_json
from gamedb_gen import Executor, games, plays, rolls, sessions
from gamedb_gen.models import GameStatus, Half, Lineup, Roll

__all__ = [
    "CloseReport",
    "GamePersister",
    "PersisterClosed",
    "PersisterMetrics",
    "StreamStopped",
    "UnwrittenWrite",
    "WriteHandle",
    "WriteKind",
]

T = TypeVar("T")
log = logging.getLogger("gamedb.persister")

_plays_json = TypeAdapter(list[PlayData])
_rolls_json = TypeAdapter(list[RollRecord])
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


class StreamStopped(GameDBError):
    """An earlier write of the game failed permanently, so this one was not written (or was
    refused at hand-off); ``cause`` is that earlier failure."""

    def __init__(self, game_id: uuid.UUID, cause: GameDBError) -> None:
        super().__init__(
            f"game {game_id}: write stream stopped after earlier failure: {cause}",
            game_id=game_id,
        )
        self.cause = cause


class PersisterClosed(GameDBError):
    """The persister is closed, or closed before this write could be committed."""

    def __init__(
        self, message: str, *, game_id: uuid.UUID | None = None, in_flight: bool = False
    ) -> None:
        super().__init__(message, game_id=game_id)
        self.in_flight = in_flight


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
    failed: int
    """Writes whose handle raised: a permanent error, a stopped stream, or the close deadline."""
    games_stopped: int
    handoff_waits: int
    """Hand-offs that waited for queue space (backpressure)."""

    @property
    def mean_group_size(self) -> float:
        return self.committed / self.transactions if self.transactions else 0.0


class _Substitution(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    game_id: uuid.UUID
    replacing_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    after_play: Annotated[int, Field(ge=0, le=2**31 - 1)]
    position: Annotated[str, Field(min_length=1, max_length=10)]
    card_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    player_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    batting_order: Annotated[int, Field(ge=1, le=9)] | None = None

    @model_validator(mode="after")
    def _one_of_card_or_player(self) -> Self:
        if (self.card_id is None) == (self.player_id is None):
            raise ValueError("give exactly one of card_id (PD) or player_id (SBA)")
        return self


@dataclasses.dataclass(frozen=True, slots=True)
class _StateWrite:
    state: GameState
    outs: int | None
    status: GameStatus | None


@dataclasses.dataclass(frozen=True, slots=True)
class _SnapshotWrite:
    snapshot: JsonValue


@dataclasses.dataclass(frozen=True, slots=True)
class _RollbackWrite:
    play_number: int


_Payload: TypeAlias = (
    PlayData
    | _StateWrite
    | tuple[RollRecord, ...]
    | _Substitution
    | _SnapshotWrite
    | _RollbackWrite
)


class _Write:
    __slots__ = ("future", "game_id", "kind", "payload", "queued_at")

    def __init__(
        self, game_id: uuid.UUID, kind: WriteKind, payload: _Payload, future: asyncio.Future[Any]
    ) -> None:
        self.game_id = game_id
        self.kind = kind
        self.payload = payload
        self.future = future
        self.queued_at = time.monotonic()

    def describe(self) -> str:
        payload = self.payload
        if isinstance(payload, PlayData):
            return f"play {payload.play_number}"
        if isinstance(payload, _RollbackWrite):
            return f"rollback to play {payload.play_number}"
        if isinstance(payload, tuple):
            return f"{len(payload)} rolls ({', '.join(r.roll_id for r in payload[:3])}...)"
        if isinstance(payload, _Substitution):
            return f"substitution for lineup entry {payload.replacing_id}"
        if isinstance(payload, _StateWrite):
            state = payload.state
            return f"game state {state.inning} {state.half} {state.away_score}-{state.home_score}"
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


class GamePersister:
    """Takes the engine's writes off the game loop; see the module docstring for the rules.

    ``max_queued`` bounds the writes handed off and not yet committed (a roll batch is one
    write); at the limit the hand-off waits. ``max_group`` bounds one transaction. ``retry``
    governs transient failures (default: the :class:`RetryPolicy` defaults); a group still
    failing at its deadline fails with :class:`TransientError` and stops its game like a
    permanent error (if the last failure hit its COMMIT, it may have committed: resending is
    safe). ``workers`` bounds the concurrent transactions (default: half the pool's
    connections, leaving the rest to the engine's own reads).
    """

    __slots__ = (
        "_closing",
        "_committed",
        "_db",
        "_failed",
        "_failures",
        "_handoff_waits",
        "_last_group",
        "_max_group",
        "_max_group_seen",
        "_max_queued",
        "_queued",
        "_ready",
        "_report",
        "_retries",
        "_retry",
        "_space_waiters",
        "_streams",
        "_tasks",
        "_transactions",
        "_workers",
    )

    def __init__(
        self,
        db: Database,
        *,
        max_queued: int = 10_000,
        max_group: int = 500,
        retry: RetryPolicy | None = None,
        workers: int | None = None,
    ) -> None:
        if max_queued < 1 or max_group < 1 or (workers is not None and workers < 1):
            raise InvalidInput("max_queued, max_group and workers must be at least 1")
        self._db = db
        self._max_queued = max_queued
        self._max_group = max_group
        self._retry = retry or RetryPolicy()
        self._workers = workers or max(1, db.max_connections // 2)
        self._streams: dict[uuid.UUID, _Stream] = {}
        self._failures: dict[uuid.UUID, GameDBError] = {}
        self._ready: asyncio.Queue[_Stream] = asyncio.Queue()
        self._space_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._queued = 0
        self._closing = False
        self._report: CloseReport | None = None
        self._committed: collections.Counter[WriteKind] = collections.Counter()
        self._transactions = 0
        self._retries = 0
        self._failed = 0
        self._handoff_waits = 0
        self._last_group = 0
        self._max_group_seen = 0

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

    async def flush(self, game_id: uuid.UUID | None = None) -> None:
        """Wait until every write queued so far (of ``game_id``, or of every game) has
        committed or failed. For one game, raises :class:`StreamStopped` when the game's
        stream is stopped; without a game, check :meth:`failure`."""
        streams = (
            list(self._streams.values())
            if game_id is None
            else [s for s in (self._streams.get(game_id),) if s is not None]
        )
        waiting = [s.last for s in streams if s.last is not None and not s.last.done()]
        if waiting:
            await asyncio.wait(waiting)
        if game_id is not None and (error := self._failures.get(game_id)) is not None:
            raise StreamStopped(game_id, error)

    async def close(self, timeout: float = 30.0) -> CloseReport:
        """Refuse new writes, commit everything queued within ``timeout`` seconds, stop the
        workers, and report what could not be written (those handles raise
        :class:`PersisterClosed`). Calling it again returns the same report."""
        if self._report is not None:
            return self._report
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
        self._report = CloseReport(
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
        return self._report

    # ---- hand-off ------------------------------------------------------------------------

    async def save_play(self, play: PlayData | Mapping[str, Any]) -> WriteHandle[int]:
        """Queue a play; the handle gives its id. Re-sending the same play is harmless;
        another play under a stored number fails with :class:`ConstraintViolation`."""
        data = validate_input(PlayData, play)
        return await self._hand_off(data.game_id, WriteKind.PLAY, data)

    async def update_game_state(
        self,
        *,
        game_id: uuid.UUID,
        inning: int,
        half: Half | str,
        home_score: int,
        away_score: int,
        outs: int | None = None,
        status: GameStatus | str | None = None,
    ) -> WriteHandle[None]:
        """Queue the game's state (absolute values: of consecutive queued states only the
        last is written). ``outs`` / ``status`` left ``None`` keep the stored ones."""
        gid = as_game_id(game_id)
        state, new_status = as_game_state(
            gid,
            inning=inning,
            half=half,
            home_score=home_score,
            away_score=away_score,
            outs=outs,
            status=status,
        )
        write = _StateWrite(state, None if outs is None else state.outs, new_status)
        return await self._hand_off(gid, WriteKind.GAME_STATE, write)

    async def save_rolls(
        self, rolls_: Sequence[RollRecord | Mapping[str, Any]]
    ) -> WriteHandle[None]:
        """Queue a batch of one game's rolls. Rolls already stored with the same content are
        skipped; a stored ``roll_id`` with other content fails with :class:`ConstraintViolation`."""
        batch = tuple(validate_input(RollRecord, roll) for roll in rolls_)
        if not batch:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return WriteHandle(done, None, WriteKind.ROLLS)
        gid = batch[0].game_id
        if any(roll.game_id != gid for roll in batch):
            raise InvalidInput("a roll batch must belong to one game", game_id=gid)
        return await self._hand_off(gid, WriteKind.ROLLS, batch)

    async def add_substitution(
        self,
        *,
        game_id: uuid.UUID,
        replacing_id: int,
        after_play: int,
        position: str,
        card_id: int | None = None,
        player_id: int | None = None,
        batting_order: int | None = None,
    ) -> WriteHandle[Lineup]:
        """Queue a substitution (see :meth:`Database.add_substitution`); the handle gives the
        new lineup row."""
        substitution = validate_input(
            _Substitution,
            {
                "game_id": game_id,
                "replacing_id": replacing_id,
                "after_play": after_play,
                "position": position,
                "card_id": card_id,
                "player_id": player_id,
                "batting_order": batting_order,
            },
        )
        return await self._hand_off(substitution.game_id, WriteKind.SUBSTITUTION, substitution)

    async def update_session_snapshot(
        self, game_id: uuid.UUID, state_snapshot: JsonValue
    ) -> WriteHandle[None]:
        """Queue the engine's state snapshot (of consecutive queued ones only the last is
        written). The snapshot is copied at hand-off, so the engine may keep mutating its own."""
        gid = as_game_id(game_id)
        snapshot = as_stored_json(state_snapshot, "state_snapshot", gid)
        return await self._hand_off(gid, WriteKind.SESSION_SNAPSHOT, _SnapshotWrite(snapshot))

    async def rollback_to_play(
        self, game_id: uuid.UUID, play_number: int
    ) -> WriteHandle[RollbackResult]:
        """Queue a rollback to just after ``play_number`` (see :meth:`Database.rollback_to_play`).
        It applies after every earlier write of the game and before every later one."""
        gid = as_game_id(game_id)
        as_int32(play_number, "play_number", gid, minimum=0)
        return await self._hand_off(gid, WriteKind.ROLLBACK, _RollbackWrite(play_number))

    # ---- state ---------------------------------------------------------------------------

    def failure(self, game_id: uuid.UUID) -> GameDBError | None:
        """The error that stopped the game's stream, or ``None`` while it runs."""
        return self._failures.get(game_id)

    def resume(self, game_id: uuid.UUID) -> GameDBError | None:
        """Accept writes for a stopped game again (once the engine has dealt with the
        failure, e.g. reloaded the game); returns the error that had stopped it."""
        return self._failures.pop(game_id, None)

    @property
    def metrics(self) -> PersisterMetrics:
        now = time.monotonic()
        oldest = now
        in_flight = 0
        for stream in self._streams.values():
            in_flight += len(stream.in_flight)
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

    def _resolve(self, write: _Write, result: object) -> None:
        if not write.future.done():
            write.future.set_result(result)
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
        while True:
            stream = await self._ready.get()
            await self._write_group(stream)
            if stream.pending:
                self._ready.put_nowait(stream)
            else:
                stream.scheduled = False
                if self._streams.get(stream.game_id) is stream:
                    del self._streams[stream.game_id]

    def _take_group(self, stream: _Stream) -> list[_Write]:
        group: list[_Write] = []
        while stream.pending and len(group) < self._max_group:
            write = stream.pending.popleft()
            group.append(write)
            # A rollback ends its group, so a retried group never re-applies writes made
            # before the rollback on top of writes made after it.
            if write.kind is WriteKind.ROLLBACK:
                break
        return group

    async def _write_group(self, stream: _Stream) -> None:
        group = self._take_group(stream)
        stream.in_flight = group
        try:
            results = await self._commit(stream.game_id, group)
        except GameDBError as error:
            # Retries ran out (TransientError): replaying the writes one by one would only
            # wait out the same fault again.
            if len(group) == 1 or isinstance(error, TransientError):
                self._stop(stream, group, error)
            else:
                await self._write_one_by_one(stream, group)
            stream.in_flight = []
            return
        stream.in_flight = []
        self._transactions += 1
        self._last_group = len(group)
        self._max_group_seen = max(self._max_group_seen, len(group))
        for write, result in zip(group, results, strict=True):
            self._resolve(write, result)

    async def _write_one_by_one(self, stream: _Stream, group: list[_Write]) -> None:
        """A group failed permanently: commit its writes one at a time, in order, to find
        the failing one; the writes before it stand, it and the rest fail."""
        for index, write in enumerate(group):
            try:
                (result,) = await self._commit(stream.game_id, [write])
            except GameDBError as error:
                self._stop(stream, group[index:], error)
                return
            stream.in_flight = group[index + 1 :]
            self._transactions += 1
            self._last_group = 1
            self._resolve(write, result)

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

    async def _commit(self, game_id: uuid.UUID, group: list[_Write]) -> list[object]:
        """Apply ``group`` in one transaction, re-running all of it on transient failures."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                async with self._db.transaction() as tx:
                    return await _apply(tx, game_id, group)
            except Exception as exc:
                if _retryable(exc):
                    delay = self._retry.delay(attempt)
                    elapsed = time.monotonic() - started
                    if (
                        attempt + 1 < self._retry.max_attempts
                        and elapsed + delay < self._retry.deadline
                    ):
                        attempt += 1
                        self._retries += 1
                        log.debug(
                            "gamedb persister retrying %d writes of game %s (attempt %d): %r",
                            len(group),
                            game_id,
                            attempt,
                            exc,
                        )
                        await asyncio.sleep(delay)
                        continue
                    raise TransientError(
                        f"game {game_id}: gave up after {attempt + 1} attempts in "
                        f"{elapsed:.1f} s: {exc}",
                        game_id=game_id,
                    ) from exc
                if isinstance(exc, GameDBError):
                    raise
                if isinstance(exc, DRIVER_ERRORS):
                    raise translate(exc, game_id=game_id) from exc
                raise GameDBError(
                    f"game {game_id}: unexpected error writing {len(group)} writes: {exc!r}",
                    game_id=game_id,
                ) from exc


def _retryable(exc: Exception) -> bool:
    # Beyond is_transient: a statement cancelled by statement_timeout (a long lock). Every
    # write of the persister is keyed, so running the transaction again is always safe.
    retried_too = (TransientError, asyncpg.QueryCanceledError)
    return isinstance(exc, retried_too) or (isinstance(exc, DRIVER_ERRORS) and is_transient(exc))


async def _apply(tx: Transaction, game_id: uuid.UUID, group: list[_Write]) -> list[object]:
    """Write ``group`` inside ``tx``: plays and rolls in bulk, substitutions in order, the
    last state and snapshot, the rollback (always last in a group) at the end."""
    conn = tx.connection
    results: list[object] = [None] * len(group)
    play_slots = [(i, w.payload) for i, w in enumerate(group) if isinstance(w.payload, PlayData)]
    if play_slots:
        ids = await _save_plays(conn, game_id, [play for _, play in play_slots])
        for index, play in play_slots:
            results[index] = ids[play.play_number]
    batch = [roll for w in group if isinstance(w.payload, tuple) for roll in w.payload]
    if batch:
        await _save_rolls(conn, game_id, batch)
    state: _StateWrite | None = None
    snapshot: _SnapshotWrite | None = None
    for index, write in enumerate(group):
        payload = write.payload
        if isinstance(payload, _Substitution):
            results[index] = await tx.add_substitution(**payload.model_dump())
        elif isinstance(payload, _StateWrite):
            state = payload
        elif isinstance(payload, _SnapshotWrite):
            snapshot = payload
    if state is not None:
        row = await games.update_game_state(
            conn,
            id=game_id,
            current_inning=state.state.inning,
            current_half=state.state.half,
            home_score=state.state.home_score,
            away_score=state.state.away_score,
            outs=state.outs,
            status=state.status,
            expected_version=None,
        )
        if row is None or row.previous_version is None:
            raise GameNotFound(game_id)
    if snapshot is not None:
        stored = await sessions.update_session_snapshot(
            conn, game_id=game_id, state_snapshot=snapshot.snapshot
        )
        if stored is None:
            raise GameNotFound(game_id)
    last = group[-1].payload
    if isinstance(last, _RollbackWrite):
        results[-1] = await tx.rollback_to_play(game_id, last.play_number)
    return results


async def _save_plays(conn: Executor, game_id: uuid.UUID, batch: list[PlayData]) -> dict[int, int]:
    """Insert the plays; return each number's id. A number stored already must hold the same
    play (a retry after an unknown commit outcome), else :class:`ConstraintViolation`."""
    rows = await plays.save_plays(
        conn, game_id=game_id, plays=_plays_json.dump_json(batch).decode()
    )
    ids = {row.play_number: row.id for row in rows}
    first: dict[int, PlayData] = {}
    for play in batch:
        earlier = first.setdefault(play.play_number, play)
        if earlier is not play and earlier != play:
            raise _play_conflict(game_id, play.play_number)
    unseen = sorted(number for number in first if number not in ids)
    if unseen:
        stored = await plays.get_plays_by_numbers(conn, game_id=game_id, play_numbers=unseen)
        by_number = {play.play_number: play for play in stored}
        for number in unseen:
            existing = by_number.get(number)
            if existing is None:
                # Nothing was stored: the play before the batch is missing (plays have no gaps).
                last = await plays.get_last_play_number(conn, game_id=game_id) or 0
                raise PlayNotFound(game_id, min(first) - 1, last)
            if not first[number].matches(existing):
                raise _play_conflict(game_id, number)
            ids[number] = existing.id
    return ids


def _play_conflict(game_id: uuid.UUID, play_number: int) -> ConstraintViolation:
    return ConstraintViolation(
        f"game {game_id} already has a different play {play_number}",
        game_id=game_id,
        constraint="plays_play_number_key",
    )


async def _save_rolls(conn: Executor, game_id: uuid.UUID, batch: list[RollRecord]) -> None:
    """Insert the rolls; a ``roll_id`` stored already must hold the same roll."""
    stored_count = await rolls.save_rolls(conn, rolls=_rolls_json.dump_json(batch).decode())
    if stored_count == len(batch):
        return
    stored = await rolls.get_rolls_by_ids(
        conn, game_id=game_id, roll_ids=sorted({roll.roll_id for roll in batch})
    )
    by_id = {roll.roll_id: roll for roll in stored}
    for roll in batch:
        existing = by_id.get(roll.roll_id)
        if existing is None or not _same_roll(roll, existing):
            raise ConstraintViolation(
                f"game {game_id} already has a different roll {roll.roll_id!r}",
                game_id=game_id,
                constraint="rolls_pkey",
            )


def _same_roll(roll: RollRecord, stored: Roll) -> bool:
    return (
        roll.roll_type,
        roll.play_number,
        roll.team_id,
        roll.player_id,
        roll.roll_data,
        roll.context,
    ) == (
        stored.roll_type,
        stored.play_number,
        stored.team_id,
        stored.player_id,
        stored.roll_data,
        stored.context,
    ) and (roll.rolled_at is None or roll.rolled_at == stored.rolled_at)
