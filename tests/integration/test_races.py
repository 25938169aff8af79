"""Every public delete and rollback against concurrent writers of every kind (``save_play``
or ``record_play``, ``save_rolls_batch``, ``add_substitution``), started together by a plain
``asyncio.gather`` with no delay injected, round after round: afterwards the plays are
numbered without gaps, nothing written for a play past the rollback point survives it, and
what a building block removed is exactly what it counted.

Counts are reduced by default; ``GAMEDB_FULL_FAULTS=1`` (``make test-faults``) runs the full
number of rounds.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gamedb import Database, GameDBError, GameState, InvalidInput, Lineup, PlayNotFound
from tests.factories import HOME, SetUpGame, play_dict, set_up_game
from tests.integration.test_faults import scaled

ROUNDS = scaled(100, 300)
DELETES = [
    "rollback_to_play",
    "delete_plays_after",
    "delete_rolls_after",
    "delete_substitutions_after",
]
UNCHANGED = GameState(inning=1, half="top", home_score=0, away_score=0, outs=0)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.connect(database_url, db_pool_size=5) as database:
        yield database


class Round:
    """One round's writers and what came of them."""

    def __init__(self, db: Database, game: SetUpGame, last: int, pitcher: int, ids: Any) -> None:
        self.db = db
        self.game = game
        self.last = last
        self.pitcher = pitcher
        self.roll_ids = [f"r{next(ids)}" for _ in range(2)]
        self.player_id = 10_000 + next(ids)
        self.plays_written = 0
        self.rolls_written = False
        self.substitution: Lineup | None = None

    async def write_plays(self, record: bool) -> None:
        for number in (self.last + 1, self.last + 2):
            play = play_dict(self.game, number)
            if record:
                await self.db.record_play(play, UNCHANGED)
            else:
                await self.db.save_play(play)
            self.plays_written += 1

    async def write_rolls(self) -> None:
        await self.db.save_rolls_batch(
            [
                {
                    "game_id": self.game.game_id,
                    "roll_id": roll_id,
                    "roll_type": "ab",
                    "play_number": self.last + 1,
                    "roll_data": {"dice": {"d20": 7}},
                }
                for roll_id in self.roll_ids
            ]
        )
        self.rolls_written = True

    async def substitute(self) -> None:
        self.substitution = await self.db.add_substitution(
            game_id=self.game.game_id,
            replacing_id=self.pitcher,
            after_play=self.last,
            position="P",
            player_id=self.player_id,
        )


async def rows(db: Database, game: SetUpGame) -> tuple[list[int], list[tuple[str, int]], Any]:
    """The game's play numbers, rolls (id, play) and lineup rows."""
    async with db.pool.acquire() as conn:
        numbers = [
            r[0]
            for r in await conn.fetch(
                "SELECT play_number FROM plays WHERE game_id = $1 ORDER BY 1", game.game_id
            )
        ]
        rolls = [
            (r[0], r[1])
            for r in await conn.fetch(
                "SELECT roll_id, play_number FROM rolls WHERE game_id = $1", game.game_id
            )
        ]
        lineup = await conn.fetch(
            "SELECT id, is_active, replacing_id, after_play FROM lineups WHERE game_id = $1",
            game.game_id,
        )
    return numbers, rolls, lineup


@pytest.mark.slow
@pytest.mark.parametrize("delete", DELETES)
async def test_deletes_serialize_with_every_writer(db: Database, delete: str) -> None:
    rng = random.Random(f"races-{delete}")
    game = await set_up_game(db)
    ids = itertools.count()
    last = 0
    seen: collections.Counter[str] = collections.Counter()
    for round_number in range(ROUNDS):
        while last < 2 or rng.random() < 0.3:
            last += 1
            await db.save_play(play_dict(game, last))
        target = rng.randint(max(0, last - 4), last - 1)
        active = await db.get_active_lineup(game.game_id, HOME)
        pitcher = next(entry.id for entry in active if entry.position == "P")
        numbers, rolls_before, lineup_before = await rows(db, game)
        subs_before = {r["id"] for r in lineup_before if r["after_play"] is not None}
        at_or_after = {r["id"] for r in lineup_before if (r["after_play"] or -1) >= target}
        rolls_after_target = {roll_id for roll_id, play in rolls_before if (play or 0) > target}

        writers = Round(db, game, last, pitcher, ids)
        deleter: Callable[[Any, int], Awaitable[Any]] = getattr(db, delete)
        calls: list[Awaitable[Any]] = [
            deleter(game.game_id, target),
            writers.write_plays(record=round_number % 2 == 1),
            writers.write_rolls(),
            writers.substitute(),
        ]
        order = list(range(len(calls)))
        rng.shuffle(order)
        outcomes = await asyncio.gather(*(calls[i] for i in order), return_exceptions=True)
        results: list[Any] = [None] * len(calls)
        for slot, outcome in zip(order, outcomes, strict=True):
            results[slot] = outcome
        deleted = results[0]
        for slot, outcome in enumerate(results):
            if isinstance(outcome, BaseException) and not isinstance(outcome, PlayNotFound):
                # The pitcher to replace was itself a substitution the delete removed.
                gone = slot == 3 and isinstance(outcome, InvalidInput) and pitcher in at_or_after
                if not gone:
                    raise outcome
        assert not isinstance(deleted, GameDBError), deleted

        numbers, rolls_now, lineup = await rows(db, game)
        assert numbers == list(range(1, len(numbers) + 1)), f"round {round_number}: a gap"
        last = len(numbers)
        by_id = {r["id"]: r for r in lineup}
        replaced = {r["replacing_id"] for r in lineup if r["replacing_id"] is not None}
        for entry in lineup:
            assert entry["is_active"] == (entry["id"] not in replaced), f"round {round_number}"

        mine = set(writers.roll_ids)
        rolls_left = {roll_id for roll_id, play in rolls_now if (play or 0) > target}
        subs_left = {r["id"] for r in lineup if (r["after_play"] or -1) >= target}
        if delete in ("rollback_to_play", "delete_plays_after"):
            assert last == target, f"round {round_number}: a play survived the delete"
        if delete == "rollback_to_play":
            # Nothing is left for a play the game no longer has.
            assert all(play is None or play <= last + 1 for _, play in rolls_now)
            assert all(r["after_play"] is None or r["after_play"] <= last for r in lineup)
            assert rolls_left == set(), f"round {round_number}: a roll survived the rollback"
            assert subs_left == set(), f"round {round_number}: a substitution survived"
            assert deleted.rolls_removed >= len(rolls_after_target)
        if delete == "delete_rolls_after":
            assert rolls_left in (set(), mine), f"round {round_number}: {rolls_left}"
            late = rolls_left == mine
            seen["rolls written after the delete" if late else "rolls removed by it"] += 1
            assert deleted == len(rolls_after_target) + (
                len(mine) if writers.rolls_written and not late else 0
            )
        if delete == "delete_substitutions_after":
            written = writers.substitution
            assert subs_left in (set(), {written.id} if written else set())
            survived = bool(subs_left)
            assert deleted == len(at_or_after) + (1 if written and not survived else 0)
            assert subs_before - at_or_after <= set(by_id)
        if writers.substitution is not None and writers.substitution.id in by_id:
            seen["substitution kept"] += 1
        seen["plays refused" if isinstance(results[1], PlayNotFound) else "plays written"] += 1
        seen["rolls refused" if isinstance(results[2], PlayNotFound) else "rolls written"] += 1
        seen["substitution refused" if isinstance(results[3], PlayNotFound) else "substituted"] += 1
    print(f"\n{delete}: {ROUNDS} rounds, 0 gaps, 0 survivors; {dict(seen)}")
    if delete in ("rollback_to_play", "delete_plays_after"):
        # Both orders happened: the race was run, not just the writers first.
        assert seen["plays refused"] and seen["plays written"], seen
