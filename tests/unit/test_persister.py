"""The persister's queue without a server: order per game, grouping, backpressure, retries,
stopped games, flush and the close deadline, over an in-memory write path.

:class:`Commits` stands in for the one thing the persister asks of the database (apply one
commit's groups in one transaction, all or nothing); what the real transaction does with
them is the integration tier's to test (tests/integration/test_persister.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from gamedb import (
    GameDBError,
    GamePersister,
    PersisterClosed,
    PlayData,
    StatementTimeout,
    StreamStopped,
    TransientError,
    WriteHandle,
    WriteKind,
)
from gamedb.persister import _Group
from gamedb.retry import RetryPolicy

FAST_RETRY = RetryPolicy(base=0.001, cap=0.001, deadline=5.0, max_attempts=10)

Written = tuple[uuid.UUID, str]
"""A committed write: its game and :meth:`_Write.describe` (``"play 3"``)."""


class Commits:
    """An in-memory write path: keeps the writes of each commit, in the order applied, and
    fails a commit on demand: the next ``transient`` attempts with :class:`TransientError`,
    a commit carrying a refused play with the permanent error given for it, a commit of
    more than ``timeout_above`` writes with :class:`StatementTimeout`. While ``held``, a
    commit waits (a hanging server). A failed commit keeps nothing, like a rolled-back
    transaction."""

    def __init__(self) -> None:
        self.commits: list[list[Written]] = []
        self.attempts = 0
        self.transient = 0
        self.refused: dict[tuple[uuid.UUID, int], GameDBError] = {}
        self.timeout_above: int | None = None
        self.held = asyncio.Event()
        self.held.set()

    async def __call__(self, groups: list[_Group], /) -> None:
        self.attempts += 1
        await self.held.wait()
        # Another task's turn, as a round trip to the server would give.
        await asyncio.sleep(0)
        if self.transient:
            self.transient -= 1
            raise TransientError("the connection was lost")
        writes = [write for group in groups for write in group.writes]
        if self.timeout_above is not None and len(writes) > self.timeout_above:
            raise StatementTimeout("canceling statement due to statement timeout")
        for write in writes:
            if isinstance(write.payload, PlayData):
                refusal = self.refused.get((write.game_id, write.payload.play_number))
                if refusal is not None:
                    raise refusal
        for write in writes:
            if isinstance(write.payload, PlayData):
                write.result = write.payload.play_number * 1000
        self.commits.append([(write.game_id, write.describe()) for write in writes])

    def hold(self) -> None:
        self.held.clear()

    def release(self) -> None:
        self.held.set()

    def of_game(self, game_id: uuid.UUID) -> list[str]:
        """The game's committed writes, in commit order."""
        return [what for commit in self.commits for gid, what in commit if gid == game_id]

    def games_per_commit(self) -> list[int]:
        return [len({gid for gid, _ in commit}) for commit in self.commits]


def play(game_id: uuid.UUID | str, number: int) -> dict[str, Any]:
    return {
        "game_id": game_id,
        "play_number": number,
        "inning": 1,
        "half": "top",
        "outs_before": 0,
        "batter_id": 1,
        "pitcher_id": 2,
        "away_score": 0,
        "home_score": 0,
    }


async def until(condition: Callable[[], bool]) -> None:
    """Let the workers run until ``condition`` holds (a bounded number of turns)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@pytest.fixture
def commits() -> Commits:
    return Commits()


async def test_each_game_keeps_its_order_across_groups(commits: Commits) -> None:
    games = [uuid.uuid4() for _ in range(4)]
    async with GamePersister(commits, max_group=3, workers=3) as persister:
        handles: list[WriteHandle[int]] = []
        for number in range(1, 13):
            for gid in games:
                handles.append(await persister.save_play(play(gid, number)))
                await persister.update_game_state(
                    game_id=gid, inning=1, half="top", home_score=number, away_score=0
                )
            await asyncio.sleep(0)
        await persister.flush()
        assert [await handle for handle in handles[:4]] == [1000] * 4
    for gid in games:
        expected = [w for n in range(1, 13) for w in (f"play {n}", f"game state 1 top 0-{n}")]
        assert commits.of_game(gid) == expected
    assert max(len(commit) for commit in commits.commits) <= 3
    assert persister.metrics.max_group_size <= 3
    assert persister.metrics.committed == 96


async def test_one_commit_carries_the_writes_of_every_game_ready(commits: Commits) -> None:
    games = [uuid.uuid4() for _ in range(5)]
    async with GamePersister(commits, workers=1) as persister:
        commits.hold()
        await persister.save_play(play(games[0], 1))
        await until(lambda: commits.attempts == 1)
        for gid in games:
            await persister.save_play(play(gid, 2))
            await persister.save_play(play(gid, 3))
        commits.release()
        await persister.flush()
    assert commits.games_per_commit() == [1, 5]
    assert [len(commit) for commit in commits.commits] == [1, 10]
    assert persister.metrics.transactions == 2
    assert persister.metrics.mean_group_size == 11 / 2


@pytest.mark.parametrize(
    ("max_group", "games_per_group", "sizes", "games"),
    [
        (500, 2, [4, 4, 2], [2, 2, 1]),
        (3, None, [3, 3, 3, 1], [2, 2, 2, 1]),
        (4, 1, [2, 2, 2, 2, 2], [1, 1, 1, 1, 1]),
    ],
)
async def test_group_limits(
    commits: Commits,
    max_group: int,
    games_per_group: int | None,
    sizes: list[int],
    games: list[int],
) -> None:
    blocker = uuid.uuid4()
    players = [uuid.uuid4() for _ in range(5)]
    async with GamePersister(
        commits, workers=1, max_group=max_group, games_per_group=games_per_group
    ) as persister:
        commits.hold()
        await persister.save_play(play(blocker, 1))
        await until(lambda: commits.attempts == 1)
        for gid in players:
            await persister.save_play(play(gid, 1))
            await persister.save_play(play(gid, 2))
        commits.release()
        await persister.flush()
    assert [len(commit) for commit in commits.commits[1:]] == sizes
    assert commits.games_per_commit()[1:] == games
    for gid in players:
        assert commits.of_game(gid) == ["play 1", "play 2"]


async def test_a_rollback_ends_its_group(commits: Commits) -> None:
    gid = uuid.uuid4()
    async with GamePersister(commits, workers=1) as persister:
        commits.hold()
        await persister.save_play(play(gid, 1))
        await until(lambda: commits.attempts == 1)
        await persister.save_play(play(gid, 2))
        await persister.rollback_to_play(gid, 1)
        await persister.save_play(play(gid, 2))
        commits.release()
        await persister.flush(gid)
    assert commits.commits == [
        [(gid, "play 1")],
        [(gid, "play 2"), (gid, "rollback to play 1")],
        [(gid, "play 2")],
    ]


async def test_a_full_queue_makes_the_hand_off_wait(commits: Commits) -> None:
    gid = uuid.uuid4()
    async with GamePersister(commits, workers=1, max_queued=2) as persister:
        commits.hold()
        await persister.save_play(play(gid, 1))
        await persister.save_play(play(gid, 2))
        third = asyncio.create_task(persister.save_play(play(gid, 3)))
        await until(lambda: persister.metrics.handoff_waits == 1)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not third.done()
        assert persister.metrics.queue_depth == 2
        commits.release()
        handle = await third
        assert await handle == 3000
        assert persister.metrics.queue_depth == 0
    assert commits.of_game(gid) == ["play 1", "play 2", "play 3"]
    assert persister.metrics.handoff_waits == 1


async def test_hand_offs_without_waiting_count_no_wait(commits: Commits) -> None:
    gid = uuid.uuid4()
    async with GamePersister(commits, workers=1, max_queued=5) as persister:
        for number in range(1, 6):
            await persister.save_play(play(gid, number))
        await persister.flush()
    assert persister.metrics.handoff_waits == 0
    assert len(commits.of_game(gid)) == 5


async def test_a_transient_failure_is_retried_with_the_same_writes(commits: Commits) -> None:
    games = [uuid.uuid4(), uuid.uuid4()]
    commits.transient = 2
    async with GamePersister(commits, workers=1, retry=FAST_RETRY) as persister:
        handles = [await persister.save_play(play(gid, n)) for n in (1, 2) for gid in games]
        await persister.flush()
        assert [await handle for handle in handles] == [1000, 1000, 2000, 2000]
    assert commits.attempts == 3
    assert persister.metrics.retries == 2
    assert commits.commits == [[(g, f"play {n}") for g in games for n in (1, 2)]]
    assert persister.metrics.committed == 4
    assert persister.failure(games[0]) is None


async def test_retries_run_out_and_stop_the_games_of_the_group(commits: Commits) -> None:
    gid = uuid.uuid4()
    commits.transient = 100
    policy = RetryPolicy(base=0.001, cap=0.001, deadline=5.0, max_attempts=3)
    async with GamePersister(commits, workers=1, retry=policy) as persister:
        handle = await persister.save_play(play(gid, 1))
        with pytest.raises(TransientError):
            await handle
        assert isinstance(persister.failure(gid), TransientError)
    assert commits.attempts == 3
    assert commits.commits == []


async def test_a_group_past_the_statement_timeout_is_split(commits: Commits) -> None:
    gid = uuid.uuid4()
    commits.timeout_above = 2
    async with GamePersister(commits, workers=1) as persister:
        commits.hold()
        await persister.save_play(play(gid, 1))
        await until(lambda: commits.attempts == 1)
        for number in range(2, 10):
            await persister.save_play(play(gid, number))
        commits.release()
        await persister.flush(gid)
    assert commits.of_game(gid) == [f"play {n}" for n in range(1, 10)]
    assert max(len(commit) for commit in commits.commits) <= 2
    assert persister.metrics.splits >= 2


async def test_a_permanent_failure_stops_only_its_game(commits: Commits) -> None:
    failing, other = uuid.uuid4(), uuid.uuid4()
    refusal = GameDBError(f"game {failing}: play 2 refused", game_id=failing)
    commits.refused[(failing, 2)] = refusal
    async with GamePersister(commits, workers=1) as persister:
        handles = {
            gid: [await persister.save_play(play(gid, n)) for n in (1, 2, 3)]
            for gid in (failing, other)
        }
        await persister.flush()
        assert await handles[failing][0] == 1000
        with pytest.raises(GameDBError) as failed:
            await handles[failing][1]
        assert failed.value is refusal
        with pytest.raises(StreamStopped) as stopped:
            await handles[failing][2]
        assert stopped.value.cause is refusal
        assert [await handle for handle in handles[other]] == [1000, 2000, 3000]

        assert persister.failure(failing) is refusal
        assert persister.failure(str(failing)) is refusal
        assert persister.failure(other) is None
        with pytest.raises(StreamStopped) as refused:
            await persister.save_play(play(failing, 2))
        assert refused.value.game_id == failing
        with pytest.raises(StreamStopped):
            await persister.flush(str(failing))
        await persister.flush(other)
        await persister.save_play(play(other, 4))
        await persister.flush(other)
    assert commits.of_game(failing) == ["play 1"]
    assert commits.of_game(other) == ["play 1", "play 2", "play 3", "play 4"]
    assert persister.metrics.games_stopped == 1
    assert persister.metrics.failed == 2


@pytest.mark.parametrize("as_text", [False, True])
async def test_resume_accepts_the_game_again(commits: Commits, as_text: bool) -> None:
    gid = uuid.uuid4()
    refusal = GameDBError("refused", game_id=gid)
    commits.refused[(gid, 1)] = refusal
    async with GamePersister(commits, workers=1) as persister:
        handle = await persister.save_play(play(gid, 1))
        with pytest.raises(GameDBError):
            await handle
        game_id: uuid.UUID | str = str(gid) if as_text else gid
        assert persister.resume(game_id) is refusal
        assert persister.resume(game_id) is None
        assert persister.failure(game_id) is None
        del commits.refused[(gid, 1)]
        retried = await persister.save_play(play(game_id, 1))
        assert await retried == 1000
        await persister.flush(game_id)
    assert commits.of_game(gid) == ["play 1"]


async def test_flush_waits_for_what_was_queued_before_it(commits: Commits) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with GamePersister(commits, workers=2) as persister:
        await persister.flush(uuid.uuid4())
        commits.hold()
        for number in (1, 2):
            await persister.save_play(play(first, number))
            await persister.save_play(play(second, number))
        flushing = asyncio.create_task(persister.flush())
        flushing_one = asyncio.create_task(persister.flush(str(first)))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not flushing.done()
        assert not flushing_one.done()
        commits.release()
        await flushing_one
        assert commits.of_game(first) == ["play 1", "play 2"]
        await flushing
        assert commits.of_game(second) == ["play 1", "play 2"]
        assert persister.metrics.queue_depth == 0


async def test_close_commits_what_is_queued(commits: Commits) -> None:
    gid = uuid.uuid4()
    persister = GamePersister(commits, workers=1)
    handles = [await persister.save_play(play(gid, n)) for n in (1, 2, 3)]
    report = await persister.close()
    assert report.clean
    assert report.committed == 3
    assert all(handle.done() for handle in handles)
    assert commits.of_game(gid) == ["play 1", "play 2", "play 3"]


async def test_close_with_a_hanging_writer_reports_the_unwritten(commits: Commits) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    persister = GamePersister(commits, workers=1)
    commits.hold()
    held = await persister.save_play(play(first, 1))
    await until(lambda: commits.attempts == 1)
    queued: list[WriteHandle[Any]] = [
        await persister.save_play(play(first, 2)),
        await persister.update_session_snapshot(str(second), {"inning": 1}),
    ]
    started = time.monotonic()
    report = await persister.close(timeout=0.05)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert 0.05 <= report.elapsed < 1.0
    assert not report.clean
    assert report.committed == 0
    assert [(w.game_id, w.kind, w.detail, w.in_flight) for w in report.unwritten] == [
        (first, WriteKind.PLAY, "play 1", True),
        (first, WriteKind.PLAY, "play 2", False),
        (second, WriteKind.SESSION_SNAPSHOT, "session snapshot", False),
    ]
    with pytest.raises(PersisterClosed) as interrupted:
        await held
    assert interrupted.value.in_flight
    for handle in queued:
        with pytest.raises(PersisterClosed) as closed:
            await handle
        assert not closed.value.in_flight
    assert commits.commits == []
    assert persister.metrics.failed == 3


async def test_closing_twice_gives_the_same_report(commits: Commits) -> None:
    gid = uuid.uuid4()
    persister = GamePersister(commits, workers=1)
    await persister.save_play(play(gid, 1))
    together = await asyncio.gather(persister.close(), persister.close())
    again = await persister.close()
    assert together[0] is together[1] is again
    assert again.committed == 1
    assert commits.attempts == 1


async def test_a_hand_off_after_close_is_refused(commits: Commits) -> None:
    gid = uuid.uuid4()
    persister = GamePersister(commits, workers=1)
    await persister.close()
    with pytest.raises(PersisterClosed) as refused:
        await persister.save_play(play(gid, 1))
    assert refused.value.game_id == gid
    with pytest.raises(PersisterClosed):
        await persister.rollback_to_play(gid, 1)
    with pytest.raises(PersisterClosed):
        await persister.start()
    assert commits.attempts == 0


async def test_a_hand_off_waiting_for_space_is_refused_by_close(commits: Commits) -> None:
    gid = uuid.uuid4()
    persister = GamePersister(commits, workers=1, max_queued=1)
    commits.hold()
    await persister.save_play(play(gid, 1))
    waiting = asyncio.create_task(persister.save_play(play(gid, 2)))
    await until(lambda: persister.metrics.handoff_waits == 1)
    report = await persister.close(timeout=0.01)
    with pytest.raises(PersisterClosed):
        await waiting
    assert [w.detail for w in report.unwritten] == ["play 1"]
    assert persister.metrics.queue_depth == 0
