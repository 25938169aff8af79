"""The demo: play simulated games through the write-behind persister, then recover every
game from the database and check it equals the game the simulation played::

    async with await Database.connect(migrate=True) as db:
        report = await run_demo(db, games=20, seed=7)
        assert report.verified

Each game is set up (game, rosters, lineups, session) in one retried transaction on the
:class:`~gamedb.Database`; its plays, rolls, game-state updates, substitutions, session
snapshots and undo go through :class:`~gamedb.persister.GamePersister`, all games at once.
After the persister has drained and closed, nothing of the games is left in memory but the
:class:`~gamedb_demo.simulation.GameRecord` of each, and every game is read back with
``load_game_state(include_rolls=True)`` (one statement each, see
:meth:`gamedb.Database.load_game_state`) and compared with it (:mod:`gamedb_demo.verify`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
import uuid
from collections.abc import Callable

from pydantic import JsonValue

from gamedb.database import Database, Transaction
from gamedb.errors import GameDBError
from gamedb.persister import GamePersister, PersisterMetrics
from gamedb_demo.simulation import (
    Event,
    GameRecord,
    GameSimulation,
    PlateAppearance,
    SessionSnapshot,
    Substitution,
    Undo,
)
from gamedb_demo.verify import compare
from gamedb_gen.models import League

__all__ = ["HALF_INNINGS", "DemoReport", "run_demo"]

HALF_INNINGS = 18
"""Progress units of one game: a regulation game's half innings."""

_CONCURRENT_GAMES = 50


@dataclasses.dataclass(frozen=True, slots=True)
class DemoReport:
    """What the demo played, how fast it wrote, and what recovery found."""

    seed: int
    records: tuple[GameRecord, ...]
    handoffs: int
    play_seconds: float
    persister: PersisterMetrics
    recovery_seconds: tuple[float, ...]
    differences: dict[uuid.UUID, list[str]]

    @property
    def plays(self) -> int:
        return sum(len(record.plays) for record in self.records)

    @property
    def rolls(self) -> int:
        return sum(len(record.rolls) for record in self.records)

    @property
    def substitutions(self) -> int:
        return sum(record.substitutions for record in self.records)

    @property
    def undos(self) -> int:
        return sum(record.undos for record in self.records)

    @property
    def writes_per_second(self) -> float:
        """Writes handed to the persister per second of play, all committed at the end."""
        return self.handoffs / self.play_seconds if self.play_seconds else 0.0

    @property
    def recovery_median(self) -> float:
        return statistics.median(self.recovery_seconds) if self.recovery_seconds else 0.0

    @property
    def verified(self) -> bool:
        return not self.differences

    def games_of(self, league: League) -> int:
        return sum(record.league is league for record in self.records)


async def run_demo(
    db: Database,
    *,
    games: int,
    seed: int,
    on_progress: Callable[[int], None] | None = None,
) -> DemoReport:
    """Play ``games`` games (SBA and PD alternately) from ``seed``, recover and compare them.
    ``on_progress`` hears of each half inning played (:data:`HALF_INNINGS` per game). Raises
    :class:`GameDBError` when a write fails or the persister cannot commit everything."""
    progress = on_progress or (lambda _: None)
    handoffs = _Counter()
    started = time.perf_counter()
    async with GamePersister(db) as persister:
        records = await _play_all(db, persister, games, seed, handoffs, progress)
        closed = await persister.close()
        metrics = persister.metrics
    play_seconds = time.perf_counter() - started
    if not closed.clean:
        problems = [str(error) for error in closed.failed_games.values()]
        problems += [f"{w.detail} of game {w.game_id} not written" for w in closed.unwritten]
        raise GameDBError(f"the persister did not commit every write: {problems[0]}")
    recovery: list[float] = []
    differences: dict[uuid.UUID, list[str]] = {}
    for record in records:
        began = time.perf_counter()
        snapshot = await db.load_game_state(record.game_id, include_rolls=True)
        recovery.append(time.perf_counter() - began)
        found = compare(record, snapshot)
        if found:
            differences[record.game_id] = found
    return DemoReport(
        seed=seed,
        records=tuple(records),
        handoffs=handoffs.value,
        play_seconds=play_seconds,
        persister=metrics,
        recovery_seconds=tuple(recovery),
        differences=differences,
    )


@dataclasses.dataclass(slots=True)
class _Counter:
    value: int = 0


async def _play_all(
    db: Database,
    persister: GamePersister,
    games: int,
    seed: int,
    handoffs: _Counter,
    progress: Callable[[int], None],
) -> list[GameRecord]:
    slots = asyncio.Semaphore(_CONCURRENT_GAMES)

    async def one(index: int) -> GameRecord:
        league = League.SBA if index % 2 == 0 else League.PD
        sim = GameSimulation(uuid.uuid4(), league, seed=f"gamedb-demo:{seed}:{index}")
        async with slots:
            return await _play_game(db, persister, sim, handoffs, progress)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(index)) for index in range(games)]
    except ExceptionGroup as failed:
        raise _first_error(failed) from None
    return [task.result() for task in tasks]


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first


async def _set_up(db: Database, sim: GameSimulation) -> None:
    """Create the game, both rosters, both starting lineups and the session at once."""
    game_id, pd = sim.game_id, sim.league is League.PD

    async def work(tx: Transaction) -> list[int]:
        await tx.create_game(
            game_id=game_id,
            league_id=sim.league,
            home_team_id=sim.home.team_id,
            away_team_id=sim.away.team_id,
        )
        for person in sim.roster():
            if pd:
                await tx.add_pd_roster_card(
                    game_id=game_id, card_id=person.ident, team_id=person.team_id
                )
            else:
                await tx.add_sba_roster_player(
                    game_id=game_id, player_id=person.ident, team_id=person.team_id
                )
        lineup_ids = []
        for person in sim.starters():
            if pd:
                entry = await tx.add_pd_lineup_card(
                    game_id=game_id,
                    team_id=person.team_id,
                    card_id=person.ident,
                    position=person.position,
                    batting_order=person.batting_order,
                )
            else:
                entry = await tx.add_sba_lineup_player(
                    game_id=game_id,
                    team_id=person.team_id,
                    player_id=person.ident,
                    position=person.position,
                    batting_order=person.batting_order,
                )
            lineup_ids.append(entry.id)
        await tx.create_game_session(game_id, connected_users=_managers(sim))
        return lineup_ids

    lineup_ids = await db.run_in_transaction(work, game_id=game_id)
    for person, lineup_id in zip(sim.starters(), lineup_ids, strict=True):
        sim.seat(person, lineup_id)


def _managers(sim: GameSimulation) -> JsonValue:
    return {"away": f"manager-{sim.away.team_id}", "home": f"manager-{sim.home.team_id}"}


async def _play_game(
    db: Database,
    persister: GamePersister,
    sim: GameSimulation,
    handoffs: _Counter,
    progress: Callable[[int], None],
) -> GameRecord:
    await _set_up(db, sim)
    events = sim.play()
    reply: int | None = None
    halves = 0
    while True:
        try:
            event = events.send(reply)
        except StopIteration as finished:
            record: GameRecord = finished.value
            break
        reply = await _hand_off(persister, sim, event, handoffs)
        if isinstance(event, SessionSnapshot) and halves < HALF_INNINGS:
            halves += 1
            progress(1)
    progress(HALF_INNINGS - halves)
    return record


async def _hand_off(
    persister: GamePersister, sim: GameSimulation, event: Event, handoffs: _Counter
) -> int | None:
    """Hand ``event`` to the persister without waiting for its commit, except that a
    substitution waits for its lineup id (the plays after it name the new entry)."""
    game_id = sim.game_id
    if isinstance(event, PlateAppearance):
        await persister.save_rolls(event.rolls)
        await persister.save_play(event.play)
        state = event.state
        await persister.update_game_state(
            game_id=game_id,
            inning=state.inning,
            half=state.half,
            home_score=state.home_score,
            away_score=state.away_score,
            outs=state.outs,
            status=event.status,
        )
        handoffs.value += 3
        return None
    handoffs.value += 1
    if isinstance(event, Substitution):
        ident = event.person.ident
        handle = await persister.add_substitution(
            game_id=game_id,
            replacing_id=event.replacing_id,
            after_play=event.after_play,
            position=event.position,
            card_id=ident if sim.league is League.PD else None,
            player_id=ident if sim.league is League.SBA else None,
            batting_order=event.batting_order,
        )
        return (await handle).id
    if isinstance(event, Undo):
        await persister.rollback_to_play(game_id, event.play_number)
    else:
        await persister.update_session_snapshot(game_id, event.snapshot)
    return None
