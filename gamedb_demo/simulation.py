"""Simulated baseball games: pure game logic, no I/O, the same plays for the same seed.

A :class:`GameSimulation` draws two teams (nine batters and a starting pitcher each, plus a
bench and a bullpen) and plays nine innings, more when tied, with dice from
``random.Random(seed)``. It speaks in events and is driven by whoever persists them: the
driver seats the starters and tells the simulation their lineup ids, then runs
:meth:`GameSimulation.play`, a generator that yields each :class:`PlateAppearance`,
:class:`Substitution`, :class:`Undo` and :class:`SessionSnapshot` and takes back, for each
substitution, the id of the lineup entry the driver created::

    sim = GameSimulation(game_id, League.SBA, seed="demo:1")
    for starter in sim.starters():
        sim.seat(starter, lineup_id=await store_lineup_entry(starter))
    events = sim.play()
    reply = None
    while True:
        try:
            event = events.send(reply)
        except StopIteration as finished:
            record = finished.value          # the game as it must now be stored
            break
        reply = await persist(event)         # a lineup id for a Substitution, else None

Each game holds one undo (a rollback of the last few plays, after which the dice roll on),
a pitching change when a pitcher tires, and pinch hitters late in close games. The
:class:`GameRecord` it returns is what the database must hold once every event is stored.
:meth:`GameSimulation.play_offline` drives a game to its end without a database, handing
out the lineup ids itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Literal

from pydantic import JsonValue

from gamedb.models import GameState, PlayData, RollRecord
from gamedb_gen.models import GameStatus, Half, League
from gamedb_schema.payloads import RollData

__all__ = [
    "Event",
    "ExpectedLineup",
    "GameRecord",
    "GameSimulation",
    "Person",
    "PlateAppearance",
    "SessionSnapshot",
    "Substitution",
    "TeamPlan",
    "Undo",
]

Clock = Callable[[], datetime.datetime]
Bases = tuple[int | None, int | None, int | None]  # lineup ids on first, second, third

FIELD_POSITIONS = ("C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH")
REGULATION_INNINGS = 9
_BENCH_SIZE = 3
_BULLPEN_SIZE = 4
_PINCH_HITTERS_PER_TEAM = 2

# Outcomes of a plate appearance per 1,000, near a modern major-league season; a card's
# rating shifts hits and walks against strikeouts (see _weights).
_BASE_WEIGHTS: dict[str, float] = {
    "K": 222,
    "BB": 84,
    "HBP": 11,
    "1B": 142,
    "2B": 44,
    "3B": 4,
    "HR": 31,
    "GB": 205,
    "FB": 152,
    "LD": 56,
    "PU": 49,
}
_HITS = frozenset({"1B", "2B", "3B", "HR"})
_INFIELD_BY_D6 = ("1B", "2B", "SS", "SS", "3B", "2B")
_OUTFIELD_BY_D6 = ("LF", "LF", "CF", "CF", "RF", "RF")


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Person:
    """A player (SBA, by ``player_id``) or a card (PD, by ``card_id``): ``ident`` is either."""

    ident: int
    team_id: int
    position: str
    rating: float
    batting_order: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TeamPlan:
    """A team as it arrives: nine batters in batting order, the starting pitcher, the bench
    and the bullpen; the roster is all of them."""

    team_id: int
    batters: tuple[Person, ...]
    starting_pitcher: Person
    bench: tuple[Person, ...]
    bullpen: tuple[Person, ...]

    @property
    def starters(self) -> tuple[Person, ...]:
        return (*self.batters, self.starting_pitcher)

    @property
    def roster(self) -> tuple[Person, ...]:
        return (*self.batters, self.starting_pitcher, *self.bench, *self.bullpen)


@dataclasses.dataclass(frozen=True, slots=True)
class ExpectedLineup:
    """A lineup entry as the ``lineups`` table must hold it."""

    id: int
    team_id: int
    ident: int
    position: str
    batting_order: int | None
    is_starter: bool
    is_active: bool
    replacing_id: int | None = None
    after_play: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PlateAppearance:
    """One play, the dice rolled for it, and the game's state and status after it."""

    play: PlayData
    rolls: tuple[RollRecord, ...]
    state: GameState
    status: GameStatus


@dataclasses.dataclass(frozen=True, slots=True)
class Substitution:
    """``person`` replaces lineup entry ``replacing_id`` after play ``after_play``; the
    driver answers with the new entry's lineup id."""

    game_id: uuid.UUID
    team_id: int
    replacing_id: int
    person: Person
    position: str
    batting_order: int | None
    after_play: int
    reason: Literal["pitching change", "pinch hitter"]


@dataclasses.dataclass(frozen=True, slots=True)
class Undo:
    """Roll the game back to just after play ``play_number``."""

    game_id: uuid.UUID
    play_number: int


@dataclasses.dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """The engine's state snapshot for the game's session, written after each half inning."""

    game_id: uuid.UUID
    snapshot: JsonValue


Event = PlateAppearance | Substitution | Undo | SessionSnapshot


@dataclasses.dataclass(frozen=True, slots=True)
class GameRecord:
    """Everything the database must hold for one game after all its events are stored."""

    game_id: uuid.UUID
    league: League
    home_team_id: int
    away_team_id: int
    status: GameStatus
    state: GameState
    plays: tuple[PlayData, ...]
    rolls: tuple[RollRecord, ...]
    lineups: tuple[ExpectedLineup, ...]
    roster: tuple[Person, ...]
    session_snapshot: JsonValue
    substitutions: int
    undos: int

    @property
    def active_lineups(self) -> tuple[ExpectedLineup, ...]:
        return tuple(entry for entry in self.lineups if entry.is_active)


@dataclasses.dataclass(slots=True)
class _Team:
    """A team during the game: who bats in each slot, who pitches, who is left."""

    plan: TeamPlan
    slots: list[int]
    pitcher: int
    next_slot: int = 0
    bench: list[Person] = dataclasses.field(default_factory=list)
    bullpen: list[Person] = dataclasses.field(default_factory=list)
    pitcher_faced: int = 0
    pitcher_runs: int = 0
    pitcher_stamina: int = 0
    pinch_hitters: int = 0

    def clone(self) -> _Team:
        return dataclasses.replace(
            self, slots=list(self.slots), bench=list(self.bench), bullpen=list(self.bullpen)
        )


@dataclasses.dataclass(slots=True)
class _State:
    """Everything the game is at one moment; an undo puts back an earlier copy."""

    away: _Team
    home: _Team
    lineups: dict[int, ExpectedLineup]
    persons: dict[int, Person]
    plays: list[PlayData]
    rolls: list[RollRecord]
    inning: int = 1
    half: Half = Half.TOP
    outs: int = 0
    away_score: int = 0
    home_score: int = 0
    bases: Bases = (None, None, None)
    status: GameStatus = GameStatus.PENDING
    substitutions: int = 0

    def clone(self) -> _State:
        return dataclasses.replace(
            self,
            away=self.away.clone(),
            home=self.home.clone(),
            lineups=dict(self.lineups),
            persons=dict(self.persons),
            plays=list(self.plays),
            rolls=list(self.rolls),
        )

    @property
    def batting(self) -> _Team:
        return self.away if self.half is Half.TOP else self.home

    @property
    def fielding(self) -> _Team:
        return self.home if self.half is Half.TOP else self.away

    @property
    def play_number(self) -> int:
        return len(self.plays)

    def game_state(self) -> GameState:
        return GameState(
            inning=self.inning,
            half=self.half,
            home_score=self.home_score,
            away_score=self.away_score,
            outs=self.outs,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Result:
    """What a plate appearance did, before it becomes a :class:`PlayData`."""

    outcome: str
    description: str
    outs: int
    bases: Bases
    runs: int
    rbi: int
    ab: bool = True
    error: bool = False


class GameSimulation:
    """One simulated game; see the module docstring for how to drive it."""

    __slots__ = ("_clock", "_rng", "_roll_seq", "_state", "away", "game_id", "home", "league")

    def __init__(
        self,
        game_id: uuid.UUID,
        league: League,
        seed: int | str,
        *,
        clock: Clock = _utc_now,
    ) -> None:
        self.game_id = game_id
        self.league = league
        self._rng = random.Random(seed)
        self._clock = clock
        self._roll_seq = 0
        away_id, home_id = self._rng.sample(range(1, 31), 2)
        idents = self._rng.sample(range(1_000, 100_000), 2 * (10 + _BENCH_SIZE + _BULLPEN_SIZE))
        self.away = self._draw_team(away_id, idents[: len(idents) // 2])
        self.home = self._draw_team(home_id, idents[len(idents) // 2 :])
        self._state = _State(
            away=self._take_the_field(self.away),
            home=self._take_the_field(self.home),
            lineups={},
            persons={},
            plays=[],
            rolls=[],
        )

    # ---- setup ---------------------------------------------------------------------------

    def _draw_team(self, team_id: int, idents: list[int]) -> TeamPlan:
        rng = self._rng
        positions = list(FIELD_POSITIONS)
        rng.shuffle(positions)
        batters = tuple(
            Person(
                ident=idents[slot],
                team_id=team_id,
                position=position,
                rating=rng.uniform(-1.0, 1.0),
                batting_order=slot + 1,
            )
            for slot, position in enumerate(positions)
        )
        starter = Person(idents[9], team_id, "P", rng.uniform(-0.4, 1.0))
        bench = tuple(
            Person(ident, team_id, "PH", rng.uniform(-0.2, 1.0))
            for ident in idents[10 : 10 + _BENCH_SIZE]
        )
        bullpen = tuple(
            Person(ident, team_id, "P", rng.uniform(-0.6, 0.8))
            for ident in idents[10 + _BENCH_SIZE :]
        )
        return TeamPlan(team_id, batters, starter, bench, bullpen)

    def starters(self) -> tuple[Person, ...]:
        """Both teams' starters (away first), each to be seated with :meth:`seat`."""
        return (*self.away.starters, *self.home.starters)

    def roster(self) -> tuple[Person, ...]:
        """Both teams' rosters (away first)."""
        return (*self.away.roster, *self.home.roster)

    def _take_the_field(self, plan: TeamPlan) -> _Team:
        """The team before its starters are seated (lineup id 0: not seated yet)."""
        return _Team(
            plan,
            slots=[0] * 9,
            pitcher=0,
            bench=list(plan.bench),
            bullpen=list(plan.bullpen),
            pitcher_stamina=self._rng.randint(22, 30),
        )

    def seat(self, person: Person, lineup_id: int) -> None:
        """Record the lineup id the database gave a starter."""
        state = self._state
        team = state.away if person.team_id == self.away.team_id else state.home
        if person.batting_order is None:
            team.pitcher = lineup_id
        else:
            team.slots[person.batting_order - 1] = lineup_id
        state.persons[lineup_id] = person
        state.lineups[lineup_id] = ExpectedLineup(
            id=lineup_id,
            team_id=person.team_id,
            ident=person.ident,
            position=person.position,
            batting_order=person.batting_order,
            is_starter=True,
            is_active=True,
        )

    # ---- the game ------------------------------------------------------------------------

    def play(self) -> Generator[Event, int | None, GameRecord]:
        """Play the game to its end; see the module docstring."""
        state = self._state
        if 0 in (*state.away.slots, state.away.pitcher, *state.home.slots, state.home.pitcher):
            raise RuntimeError("seat every starter before playing")
        undo_target = self._rng.randint(6, 24)
        undo_at = undo_target + self._rng.randint(1, 3)
        saved: _State | None = None
        undos = 0
        state.status = GameStatus.ACTIVE
        while state.status is GameStatus.ACTIVE:
            for change in self._substitutions(state):
                lineup_id = yield change
                if lineup_id is None:
                    raise RuntimeError("a substitution needs the new lineup id")
                self._substitute(state, change, lineup_id)
            batting_half = (state.inning, state.half)
            yield self._plate_appearance(state)
            if state.play_number == undo_target:
                saved = state.clone()
            elif (
                state.play_number == undo_at
                and saved is not None
                and not undos
                and state.status is GameStatus.ACTIVE
            ):
                yield Undo(self.game_id, undo_target)
                state = self._state = saved.clone()
                undos = 1
                continue
            half_over = (state.inning, state.half) != batting_half
            if half_over or state.status is not GameStatus.ACTIVE:
                yield SessionSnapshot(self.game_id, self._snapshot(state))
        return GameRecord(
            game_id=self.game_id,
            league=self.league,
            home_team_id=self.home.team_id,
            away_team_id=self.away.team_id,
            status=state.status,
            state=state.game_state(),
            plays=tuple(state.plays),
            rolls=tuple(state.rolls),
            lineups=tuple(state.lineups.values()),
            roster=self.roster(),
            session_snapshot=self._snapshot(state),
            substitutions=state.substitutions,
            undos=undos,
        )

    def play_offline(self, lineup_ids: Iterator[int]) -> tuple[list[Event], GameRecord]:
        """Seat the starters and :meth:`play` the game to its end without a database: each
        starter (in :meth:`starters` order), then each substitute as he comes in, takes the
        next id of ``lineup_ids``. Returns every event and the game's record::

            sim = GameSimulation(game_id, League.SBA, seed=1)
            events, record = sim.play_offline(itertools.count(1))
        """
        for starter in self.starters():
            self.seat(starter, next(lineup_ids))
        events: list[Event] = []
        game = self.play()
        reply: int | None = None
        while True:
            try:
                event = game.send(reply)
            except StopIteration as finished:
                return events, finished.value
            events.append(event)
            reply = next(lineup_ids) if isinstance(event, Substitution) else None

    def _substitutions(self, state: _State) -> list[Substitution]:
        changes: list[Substitution] = []
        fielding = state.fielding
        tired = fielding.pitcher_faced >= fielding.pitcher_stamina or (
            fielding.pitcher_runs >= 5 and fielding.pitcher_faced >= 9
        )
        if tired and fielding.bullpen:
            reliever = fielding.bullpen[0]
            changes.append(
                Substitution(
                    game_id=self.game_id,
                    team_id=fielding.plan.team_id,
                    replacing_id=fielding.pitcher,
                    person=reliever,
                    position="P",
                    batting_order=None,
                    after_play=state.play_number,
                    reason="pitching change",
                )
            )
        batting = state.batting
        due = batting.slots[batting.next_slot]
        hitter = state.persons[due]
        runs_for = state.away_score if batting is state.away else state.home_score
        runs_against = state.home_score if batting is state.away else state.away_score
        if (
            state.inning >= 7
            and 1 <= runs_against - runs_for <= 3
            and batting.bench
            and batting.pinch_hitters < _PINCH_HITTERS_PER_TEAM
            and hitter.rating < -0.2
            and state.lineups[due].position not in ("C", "PH")
            and self._rng.random() < 0.5
        ):
            changes.append(
                Substitution(
                    game_id=self.game_id,
                    team_id=batting.plan.team_id,
                    replacing_id=due,
                    person=batting.bench[0],
                    position="PH",
                    batting_order=hitter.batting_order,
                    after_play=state.play_number,
                    reason="pinch hitter",
                )
            )
        return changes

    def _substitute(self, state: _State, change: Substitution, lineup_id: int) -> None:
        team = state.away if change.team_id == self.away.team_id else state.home
        replaced = state.lineups[change.replacing_id]
        state.lineups[change.replacing_id] = dataclasses.replace(replaced, is_active=False)
        state.lineups[lineup_id] = ExpectedLineup(
            id=lineup_id,
            team_id=change.team_id,
            ident=change.person.ident,
            position=change.position,
            batting_order=replaced.batting_order,
            is_starter=False,
            is_active=True,
            replacing_id=change.replacing_id,
            after_play=change.after_play,
        )
        state.persons[lineup_id] = dataclasses.replace(
            change.person, batting_order=replaced.batting_order
        )
        if change.reason == "pitching change":
            team.bullpen.remove(change.person)
            team.pitcher = lineup_id
            team.pitcher_faced = team.pitcher_runs = 0
            team.pitcher_stamina = self._rng.randint(3, 9)
        else:
            team.bench.remove(change.person)
            team.slots[team.slots.index(change.replacing_id)] = lineup_id
            team.pinch_hitters += 1
        state.substitutions += 1

    # ---- one plate appearance ------------------------------------------------------------

    def _roll(
        self,
        state: _State,
        roll_type: str,
        dice: dict[str, int],
        *,
        team_id: int,
        player: int | None,
        total: int | None = None,
    ) -> RollRecord:
        self._roll_seq += 1
        return RollRecord(
            game_id=self.game_id,
            roll_id=f"r{self._roll_seq:05d}",
            roll_type=roll_type,
            play_number=state.play_number + 1,
            team_id=team_id,
            player_id=player,
            roll_data=RollData(dice=dice, total=total),
            context={"inning": state.inning, "half": str(state.half), "outs": state.outs},
            rolled_at=self._clock(),
        )

    def _fielder(self, state: _State, position: str) -> int | None:
        team_id = state.fielding.plan.team_id
        for entry in state.lineups.values():
            if entry.is_active and entry.team_id == team_id and entry.position == position:
                return entry.id
        return None

    def _plate_appearance(self, state: _State) -> PlateAppearance:
        rng = self._rng
        batting, fielding = state.batting, state.fielding
        batter_id = batting.slots[batting.next_slot]
        batter, pitcher = state.persons[batter_id], state.persons[fielding.pitcher]
        column, row_a, row_b, split = (
            rng.randint(1, 6),
            rng.randint(1, 6),
            rng.randint(1, 6),
            rng.randint(1, 20),
        )
        rolls = [
            self._roll(
                state,
                "ab",
                {"d6_one": column, "d6_two_a": row_a, "d6_two_b": row_b, "d20": split},
                team_id=batting.plan.team_id,
                player=batter.ident,
                total=row_a + row_b,
            )
        ]
        # Columns 1-3 read the batter's card, 4-6 the pitcher's; the other three dice pick
        # one of 720 equally likely rows of that card.
        edge = batter.rating if column <= 3 else -pitcher.rating
        draw = ((((row_a - 1) * 6 + row_b - 1) * 20 + split - 1) + 0.5) / 720
        outcome = _pick(_weights(edge), draw)
        result = self._resolve(state, outcome, batter_id, rolls)
        ends_game_early = False
        runs = result.runs
        if state.half is Half.BOTTOM and state.inning >= REGULATION_INNINGS:
            needed = state.away_score - state.home_score + 1
            if 0 < needed <= runs:
                ends_game_early = True
                if outcome != "HR":
                    runs = needed
        rbi = min(result.rbi, runs)
        away_score = state.away_score + (runs if state.half is Half.TOP else 0)
        home_score = state.home_score + (runs if state.half is Half.BOTTOM else 0)
        is_walk, is_hbp = outcome == "BB", outcome == "HBP"
        play = PlayData(
            game_id=self.game_id,
            play_number=state.play_number + 1,
            inning=state.inning,
            half=state.half,
            outs_before=state.outs,
            outs_recorded=result.outs,
            batter_id=batter_id,
            pitcher_id=fielding.pitcher,
            catcher_id=self._fielder(state, "C"),
            on_first_id=state.bases[0],
            on_second_id=state.bases[1],
            on_third_id=state.bases[2],
            dice_roll=f"{column} {row_a}+{row_b} d20={split}",
            result_description=result.description
            + (f", {rbi} RBI" if rbi else "")
            + (", walk-off" if ends_game_early else ""),
            outcome=result.outcome,
            pa=1,
            ab=int(result.ab and not (is_walk or is_hbp)),
            hit=int(outcome in _HITS and not result.error),
            double=int(outcome == "2B"),
            triple=int(outcome == "3B"),
            homerun=int(outcome == "HR"),
            bb=int(is_walk),
            so=int(outcome == "K"),
            hbp=int(is_hbp),
            rbi=rbi,
            run=runs,
            error=int(result.error),
            away_score=away_score,
            home_score=home_score,
        )
        state.plays.append(play)
        state.rolls.extend(rolls)
        state.away_score, state.home_score = away_score, home_score
        batting.next_slot = (batting.next_slot + 1) % 9
        fielding.pitcher_faced += 1
        fielding.pitcher_runs += runs
        outs = state.outs + result.outs
        state.bases = result.bases
        if ends_game_early:
            state.outs = outs
            state.status = GameStatus.COMPLETED
        elif outs >= 3:
            self._end_half_inning(state)
        else:
            state.outs = outs
        return PlateAppearance(
            play=play, rolls=tuple(rolls), state=state.game_state(), status=state.status
        )

    def _end_half_inning(self, state: _State) -> None:
        inning, lead = state.inning, state.home_score - state.away_score
        if inning >= REGULATION_INNINGS and (
            (state.half is Half.TOP and lead > 0) or (state.half is Half.BOTTOM and lead != 0)
        ):
            # The game is over: the row keeps the last half inning played.
            state.outs = 0
            state.status = GameStatus.COMPLETED
            return
        state.outs = 0
        if state.half is Half.TOP:
            state.half = Half.BOTTOM
        else:
            state.half, state.inning = Half.TOP, inning + 1
        state.bases = (None, None, None)
        if state.inning > REGULATION_INNINGS:
            # Extra innings start with the batter before the leadoff man on second base.
            batting = state.batting
            state.bases = (None, batting.slots[(batting.next_slot - 1) % 9], None)

    def _resolve(
        self, state: _State, outcome: str, batter: int, rolls: list[RollRecord]
    ) -> _Result:
        first, second, third = state.bases
        occupied = sum(base is not None for base in state.bases)
        outs_left = 3 - state.outs

        def run_roll() -> int:
            die = self._rng.randint(1, 20)
            rolls.append(
                self._roll(
                    state,
                    "baserunning",
                    {"d20": die},
                    team_id=state.batting.plan.team_id,
                    player=None,
                )
            )
            return die

        def field_roll(positions: tuple[str, ...]) -> tuple[str, int]:
            where, die = self._rng.randint(1, 6), self._rng.randint(1, 20)
            position = positions[where - 1]
            fielder = self._fielder(state, position)
            rolls.append(
                self._roll(
                    state,
                    "fielding",
                    {"d6": where, "d20": die},
                    team_id=state.fielding.plan.team_id,
                    player=None if fielder is None else state.persons[fielder].ident,
                )
            )
            return position, die

        if outcome == "K":
            return _Result("K", "Strikeout", 1, state.bases, 0, 0)
        if outcome in ("BB", "HBP"):
            label = "Walk" if outcome == "BB" else "Hit by pitch"
            return _Result(outcome, label, 0, *_forced_advance(batter, state.bases))
        if outcome == "HR":
            runs = occupied + 1
            field = _OUTFIELD_BY_D6[self._rng.randint(1, 6) - 1]
            label = "Grand slam" if runs == 4 else "Home run"
            return _Result("HR", f"{label} to {field}", 0, (None, None, None), runs, runs)
        if outcome == "3B":
            return _Result("3B", "Triple", 0, (None, None, batter), occupied, occupied)
        if outcome == "2B":
            runs = int(second is not None) + int(third is not None)
            held = None
            if first is not None:
                if run_roll() <= 8:
                    runs += 1
                else:
                    held = first
            return _Result("2B", "Double", 0, (None, batter, held), runs, runs)
        if outcome == "1B":
            runs = int(third is not None)
            on_third = None
            if second is not None:
                if run_roll() <= 13:
                    runs += 1
                else:
                    on_third = second
            on_second = first
            if first is not None and on_third is None and run_roll() <= 6:
                on_third, on_second = first, None
            return _Result("1B", "Single", 0, (batter, on_second, on_third), runs, runs)
        if outcome in ("LD", "PU"):
            label = "Lineout" if outcome == "LD" else "Popout"
            return _Result(outcome, label, 1, state.bases, 0, 0)
        infield = outcome == "GB"
        position, die = field_roll(_INFIELD_BY_D6 if infield else _OUTFIELD_BY_D6)
        if die == 1:
            runs = int(third is not None)
            bases: Bases = (batter, first, second)
            return _Result("E", f"Reached on error by {position}", 0, bases, runs, 0, error=True)
        if not infield:
            if third is not None and outs_left > 1 and die <= 12:
                bases = (first, second, None)
                return _Result("SF", f"Sacrifice fly to {position}", 1, bases, 1, 1, ab=False)
            return _Result("FB", f"Flyout to {position}", 1, state.bases, 0, 0)
        if first is not None and outs_left > 1 and die <= 12:
            # Runner from first and batter out; with nobody out the others move up a base.
            runs = int(third is not None and outs_left == 3)
            return _Result("DP", f"Double play, {position}", 2, (None, None, second), runs, 0)
        if outs_left == 1:
            return _Result("GB", f"Groundout, {position}", 1, state.bases, 0, 0)
        if first is not None:
            # The runner from first is forced out at second; the batter is safe at first.
            runs = int(second is not None and third is not None)
            bases = (batter, None, second if second is not None else third)
            return _Result("FC", f"Fielder's choice, {position}", 1, bases, runs, runs)
        if third is not None and die > 10:
            return _Result("GB", f"Groundout, {position}", 1, (None, second, third), 0, 0)
        runs = int(third is not None)
        return _Result("GB", f"Groundout, {position}", 1, (None, None, second), runs, runs)

    def _snapshot(self, state: _State) -> JsonValue:
        return {
            "inning": state.inning,
            "half": str(state.half),
            "outs": state.outs,
            "score": {"away": state.away_score, "home": state.home_score},
            "bases": list(state.bases),
            "last_play": state.play_number,
            "status": str(state.status),
            "due_up": {"away": state.away.next_slot + 1, "home": state.home.next_slot + 1},
            "pitchers": {"away": state.away.pitcher, "home": state.home.pitcher},
        }


def _forced_advance(batter: int, bases: Bases) -> tuple[Bases, int, int]:
    """Bases, runs and RBI after a walk or hit batsman: only forced runners move."""
    first, second, third = bases
    if first is None:
        return (batter, second, third), 0, 0
    if second is None:
        return (batter, first, third), 0, 0
    if third is None:
        return (batter, first, second), 0, 0
    return (batter, first, second), 1, 1


def _weights(edge: float) -> list[tuple[str, float]]:
    """The outcome table of a card: a positive edge moves strikeouts and outs to hits."""
    scale = {
        "K": 1 - 0.3 * edge,
        "BB": 1 + 0.2 * edge,
        "1B": 1 + 0.25 * edge,
        "2B": 1 + 0.3 * edge,
        "3B": 1 + 0.3 * edge,
        "HR": 1 + 0.45 * edge,
    }
    return [(name, weight * scale.get(name, 1.0)) for name, weight in _BASE_WEIGHTS.items()]


def _pick(weights: list[tuple[str, float]], draw: float) -> str:
    total = sum(weight for _, weight in weights)
    point = draw * total
    for name, weight in weights:
        point -= weight
        if point < 0:
            return name
    return weights[-1][0]
