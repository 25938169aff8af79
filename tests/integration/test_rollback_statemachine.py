"""Random games against ``rollback_to_play``: whatever was played, substituted and rolled,
rewinding to a play gives back the snapshot ``load_game_state`` took right after it.

Hypothesis drives a state machine over one game per example (either league): it records
plays (and the engine's session snapshot after each), brings in substitutes (sometimes the
substitute of a substitute), saves roll batches for the coming play, and now and then
snapshots the game right after a play. Rewinding to one of those points must restore that
snapshot exactly, except for what a rewind must change:

* ``game.state_version`` (bumped, so stale writers are refused) and ``game.updated_at``;
* ``session.updated_at`` and ``session.last_action_at``: the session is the engine's, not the
  rewind's, so the machine re-sends the engine's snapshot for that play, as the engine does.

The machine runs its own event loop, because Hypothesis calls rules synchronously.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import random
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gamedb import Database, GameSnapshot
from tests.oracles import replay_state, stored_state
from tests.simulate import AWAY, HOME, SimulatedGame

T = TypeVar("T")
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def without_rewind_changes(snapshot: GameSnapshot) -> GameSnapshot:
    """``snapshot`` with the fields a rewind must change set to fixed values."""
    game = snapshot.game.model_copy(update={"state_version": 0, "updated_at": EPOCH})
    session = snapshot.session and snapshot.session.model_copy(
        update={"updated_at": EPOCH, "last_action_at": EPOCH}
    )
    return snapshot.model_copy(update={"game": game, "session": session})


class RollbackMachine(RuleBasedStateMachine):
    """The machine; a subclass names the database and the event loop its rules run on."""

    db: ClassVar[Database]
    loop: ClassVar[asyncio.AbstractEventLoop]

    def __init__(self) -> None:
        super().__init__()
        self.game: SimulatedGame | None = None
        # Play number → the snapshot taken right after it, and the simulation at that time.
        self.points: dict[int, tuple[GameSnapshot, SimulatedGame]] = {}

    def run(self, pending: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(pending)

    @property
    def current(self) -> SimulatedGame:
        assert self.game is not None
        return self.game

    def take_snapshot(self) -> None:
        snapshot = self.run(self.db.load_game_state(self.current.game_id, include_rolls=True))
        assert snapshot is not None
        self.points[self.current.last_play] = (snapshot, copy.deepcopy(self.current))

    @initialize(league=st.sampled_from(["sba", "pd"]))
    def start(self, league: str) -> None:
        game = self.run(SimulatedGame.start(self.db, league))
        started = self.run(
            self.db.update_game_state(
                game_id=game.game_id,
                inning=1,
                half="top",
                home_score=0,
                away_score=0,
                outs=0,
                status="active",
            )
        )
        game.state_version = started.state_version
        self.game = game
        self.take_snapshot()

    @rule(seed=SEEDS, snapshots=st.lists(st.booleans(), min_size=0, max_size=5))
    def play(self, seed: int, snapshots: list[bool]) -> None:
        """One play per entry of ``snapshots`` and one more, snapshotting right after the
        plays marked and the last one."""
        game, rng = self.current, random.Random(seed)
        for snapshot in [*snapshots, True]:
            self.run(game.play(self.db, rng))
            self.run(game.update_session(self.db))
            if snapshot:
                self.take_snapshot()

    @rule(seed=SEEDS, size=st.integers(min_value=1, max_value=4))
    def roll_for_the_coming_play(self, seed: int, size: int) -> None:
        self.run(self.current.save_rolls(self.db, random.Random(seed), size))

    @rule(seed=SEEDS, team=st.sampled_from([AWAY, HOME]), slot=st.sampled_from([0, 4, 9]))
    def substitute(self, seed: int, team: int, slot: int) -> None:
        self.run(self.current.substitute(self.db, random.Random(seed), team_id=team, slot=slot))

    @precondition(lambda self: self.game is not None and self.game.last_play > 0)
    @rule(seed=SEEDS)
    def rewind(self, seed: int) -> None:
        game = self.current
        # A seeded choice spreads the targets evenly; a drawn one favours the first point.
        target = random.Random(seed).choice(sorted(self.points))
        note(f"rewind to play {target} of {game.last_play}")
        snapshot, then = self.points[target]

        result = self.run(self.db.rollback_to_play(game.game_id, target))

        assert result.plays_removed == game.last_play - target
        assert result.substitutions_removed == sum(
            1 for sub in game.substitutions if (sub.after_play or 0) >= target
        )
        assert result.rolls_removed == sum(
            1 for roll in game.rolls if (roll.play_number or 0) > target
        )
        assert result.game.state_version > game.state_version
        self.game = game = copy.deepcopy(then)
        game.state_version = result.game.state_version
        self.run(game.update_session(self.db))

        restored = self.run(self.db.load_game_state(game.game_id, include_rolls=True))
        assert restored is not None
        assert restored.game == result.game
        assert without_rewind_changes(restored) == without_rewind_changes(snapshot)
        for later in [point for point in self.points if point > target]:
            del self.points[later]

    @invariant()
    def stored_game_is_the_simulated_one(self) -> None:
        if self.game is None:
            return
        game = self.current
        stored = self.run(self.db.load_game_state(game.game_id))
        assert stored is not None
        assert len(stored.plays) == game.last_play
        assert stored.game.state_version == game.state_version
        replayed = replay_state(stored.plays)
        assert replayed == game.state
        assert stored_state(stored.game) == replayed
        assert stored.active_lineups == game.expected_lineups()
        assert stored.session == game.session


def test_rollback_restores_every_snapshot(database_url: str) -> None:
    event_loop = asyncio.new_event_loop()
    try:
        database = event_loop.run_until_complete(Database.connect(database_url, db_pool_size=2))

        class RollbackOnThisDatabase(RollbackMachine):
            db = database
            loop = event_loop

        try:
            run_state_machine_as_test(RollbackOnThisDatabase, settings=SETTINGS)
        finally:
            event_loop.run_until_complete(database.close())
    finally:
        event_loop.close()
