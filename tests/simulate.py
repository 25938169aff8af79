"""A small baseball simulation that writes a realistic game through gamedb and remembers
everything it wrote, so tests can compare what the database gives back with it.

Plays follow the rules the replay helper applies (the third out ends the half inning, the
bottom half ends the inning, runs raise the batting team's score), but the simulation
computes them itself, independently of :mod:`gamedb.replay`::

    rng = random.Random(7)
    game = await SimulatedGame.start(db, "pd")
    for _ in range(300):
        await game.save_rolls(db, rng)
        await game.play(db, rng)
    await game.substitute(db, rng)
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import uuid
from collections.abc import Iterable

from pydantic import JsonValue

from gamedb import (
    Database,
    GameSession,
    GameState,
    Half,
    Lineup,
    PdRosterLinkData,
    Play,
    PlayData,
    RollRecord,
    SbaRosterLinkData,
)

__all__ = ["AWAY", "HOME", "SimulatedGame", "Team", "lineup_ids_named"]

HOME, AWAY = 1, 2
ROLLS_START = datetime.datetime(2026, 11, 27, 19, 5, tzinfo=datetime.UTC)
START = GameState(inning=1, half=Half.TOP, home_score=0, away_score=0, outs=0)
FIELDERS = ["C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH"]
BENCH_SIZE = 6
# Batting outcomes and how often they happen: roughly a real game's mix.
OUTCOMES = {
    "strikeout": 22,
    "groundout": 20,
    "flyout": 20,
    "double play": 4,
    "walk": 9,
    "single": 15,
    "double": 5,
    "triple": 1,
    "homerun": 4,
}
BASES_GAINED = {"walk": 1, "single": 1, "double": 2, "triple": 3, "homerun": 4}
# Text the database must hand back byte for byte: quotes, backslashes, control characters
# and characters outside ASCII.
AWKWARD_TEXT = 'Zoë "the \\ wall" O\'Neil\n\t⚾ 野球 \u2028'


@dataclasses.dataclass
class Team:
    """One team's side of the simulation: its lineup ids by batting slot and its pitcher."""

    team_id: int
    batters: list[int]
    pitcher: int
    next_up: int = 0
    next_substitute: int = 0


@dataclasses.dataclass
class SimulatedGame:
    """A game as the engine would hold it, plus a record of every row written for it."""

    game_id: uuid.UUID
    league: str
    teams: dict[int, Team]
    active: dict[int, Lineup]
    roster: list[PdRosterLinkData | SbaRosterLinkData]
    session: GameSession
    state: GameState = START
    state_version: int = 0
    bases: list[int | None] = dataclasses.field(default_factory=lambda: [None, None, None])
    plays: list[PlayData] = dataclasses.field(default_factory=list)
    play_ids: list[int] = dataclasses.field(default_factory=list)
    states: list[GameState] = dataclasses.field(default_factory=list)
    rolls: list[RollRecord] = dataclasses.field(default_factory=list)
    substitutions: list[Lineup] = dataclasses.field(default_factory=list)

    @classmethod
    async def start(
        cls, db: Database, league: str, *, game_id: uuid.UUID | None = None
    ) -> SimulatedGame:
        """Create the game with nine batters and a pitcher per team, a roster of those plus
        a bench, an open session with a first snapshot, and a pre-game roll."""
        gid = game_id or uuid.uuid4()
        game = await db.create_game(
            game_id=gid, league_id=league, home_team_id=HOME, away_team_id=AWAY
        )
        active: dict[int, Lineup] = {}
        teams: dict[int, Team] = {}
        roster: list[PdRosterLinkData | SbaRosterLinkData] = []
        for team_id in (AWAY, HOME):
            entries = []
            for slot in range(10):
                member = _member_id(team_id, slot)
                position = FIELDERS[slot] if slot < 9 else "P"
                order = slot + 1 if slot < 9 else None
                if league == "pd":
                    entry = await db.add_pd_lineup_card(
                        game_id=gid,
                        team_id=team_id,
                        card_id=member,
                        position=position,
                        batting_order=order,
                    )
                else:
                    entry = await db.add_sba_lineup_player(
                        game_id=gid,
                        team_id=team_id,
                        player_id=member,
                        position=position,
                        batting_order=order,
                    )
                active[entry.id] = entry
                entries.append(entry.id)
            teams[team_id] = Team(team_id, batters=entries[:9], pitcher=entries[9])
            for slot in range(10 + BENCH_SIZE):
                member = _member_id(team_id, slot)
                link: PdRosterLinkData | SbaRosterLinkData
                if league == "pd":
                    link = await db.add_pd_roster_card(game_id=gid, card_id=member, team_id=team_id)
                else:
                    link = await db.add_sba_roster_player(
                        game_id=gid, player_id=member, team_id=team_id
                    )
                roster.append(link)
        session = await db.create_game_session(
            gid, {"home": {"user": "u-home", "name": AWKWARD_TEXT}, "away": {"user": "u-away"}}
        )
        sim = cls(
            game_id=gid,
            league=league,
            teams=teams,
            active=active,
            roster=roster,
            session=session,
            state_version=game.state_version,
        )
        sim.session = await db.update_session_snapshot(gid, sim.session_snapshot())
        pregame = RollRecord(
            game_id=gid,
            roll_id="pregame-coin",
            roll_type="coin_toss",
            team_id=HOME,
            roll_data={"dice": {"coin": 1}, "total": 1, "note": AWKWARD_TEXT},
            context={"phase": "pregame"},
            rolled_at=ROLLS_START - datetime.timedelta(minutes=5),
        )
        await db.save_rolls_batch([pregame])
        sim.rolls.append(pregame)
        return sim

    @property
    def last_play(self) -> int:
        return len(self.plays)

    def batting_team(self) -> Team:
        return self.teams[AWAY if self.state.half is Half.TOP else HOME]

    def fielding_team(self) -> Team:
        return self.teams[HOME if self.state.half is Half.TOP else AWAY]

    def expected_lineups(self) -> list[Lineup]:
        """The active lineups in the order recovery returns them: team, batting order
        (the pitcher without a slot last), id."""
        return sorted(
            self.active.values(),
            key=lambda e: (e.team_id, e.batting_order is None, e.batting_order or 0, e.id),
        )

    def session_snapshot(self) -> JsonValue:
        """The engine's state snapshot for the session, as it would store it."""
        return {
            "play": self.last_play,
            "inning": self.state.inning,
            "half": str(self.state.half),
            "outs": self.state.outs,
            "score": {"away": self.state.away_score, "home": self.state.home_score},
            "bases": list(self.bases),
            "ratio": 0.1 * (self.last_play % 7),
            "note": AWKWARD_TEXT,
            "flags": [True, False, None],
        }

    def next_play(self, rng: random.Random) -> tuple[PlayData, GameState, list[int | None]]:
        """The next play drawn at random, the game state after it, and the bases after it."""
        state, bases = self.state, self.bases
        batting, fielding = self.batting_team(), self.fielding_team()
        batter = batting.batters[batting.next_up]
        outcome = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        if outcome == "double play" and (state.outs == 2 or bases[0] is None):
            outcome = "groundout"
        after: list[int | None] = list(bases)
        outs_recorded = runs = 0
        if outcome == "double play":
            outs_recorded, after[0] = 2, None
        elif outcome == "walk":
            after, runs = _walk(batter, bases)
        elif outcome in BASES_GAINED:
            gained = BASES_GAINED[outcome]
            after = [None, None, None]
            for base, who in enumerate([batter, *bases]):
                if who is None:
                    continue
                if base + gained > 3:
                    runs += 1
                else:
                    after[base + gained - 1] = who
        else:
            outs_recorded = 1
        hit = outcome in ("single", "double", "triple", "homerun")
        away, home = state.away_score, state.home_score
        if state.half is Half.TOP:
            away += runs
        else:
            home += runs
        dice = [rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 20)]
        play = PlayData(
            game_id=self.game_id,
            play_number=self.last_play + 1,
            inning=state.inning,
            half=state.half,
            outs_before=state.outs,
            outs_recorded=outs_recorded,
            batter_id=batter,
            pitcher_id=fielding.pitcher,
            catcher_id=fielding.batters[0],
            on_first_id=bases[0],
            on_second_id=bases[1],
            on_third_id=bases[2],
            dice_roll=",".join(map(str, dice)),
            result_description=f"{outcome} ({AWKWARD_TEXT})" if dice[2] == 20 else outcome,
            outcome=outcome.upper().replace(" ", "_"),
            pa=1,
            ab=0 if outcome == "walk" else 1,
            hit=int(hit),
            double=int(outcome == "double"),
            triple=int(outcome == "triple"),
            homerun=int(outcome == "homerun"),
            bb=int(outcome == "walk"),
            so=int(outcome == "strikeout"),
            rbi=runs,
            run=int(outcome == "homerun"),
            away_score=away,
            home_score=home,
        )
        outs = state.outs + outs_recorded
        inning, half = state.inning, state.half
        if outs == 3:
            outs, after = 0, [None, None, None]
            if half is Half.TOP:
                half = Half.BOTTOM
            else:
                inning, half = inning + 1, Half.TOP
        return (
            play,
            GameState(inning=inning, half=half, outs=outs, away_score=away, home_score=home),
            after,
        )

    def advance(self, play: PlayData, state: GameState, bases: list[int | None]) -> None:
        """Take a stored play and the state after it as the game's present."""
        batting = self.batting_team()
        batting.next_up = (batting.next_up + 1) % 9
        self.plays.append(play)
        self.states.append(state)
        self.state, self.bases = state, bases

    async def play(self, db: Database, rng: random.Random) -> PlayData:
        """Draw the next play and record it with the state after it (``record_play``)."""
        play, state, bases = self.next_play(rng)
        recorded = await db.record_play(play, state, expected_version=self.state_version)
        self.play_ids.append(recorded.play_id)
        self.state_version = recorded.state_version
        self.advance(play, state, bases)
        return play

    async def update_session(self, db: Database) -> GameSession:
        """Store the engine's current snapshot in the session."""
        self.session = await db.update_session_snapshot(self.game_id, self.session_snapshot())
        return self.session

    def roll_batch(self, rng: random.Random, size: int) -> list[RollRecord]:
        """``size`` dice rolls for the coming play, each keyed and timed after the last."""
        number = self.last_play + 1
        already = sum(1 for roll in self.rolls if roll.play_number == number)
        batting = self.batting_team()
        batch = []
        for index in range(already, already + size):
            d6, d20 = rng.randint(1, 6), rng.randint(1, 20)
            batch.append(
                RollRecord(
                    game_id=self.game_id,
                    roll_id=f"play{number:04d}-{index:02d}",
                    roll_type=rng.choice(["ab", "jump", "fielding", "wild_pitch"]),
                    play_number=number,
                    team_id=batting.team_id,
                    player_id=_member_id(batting.team_id, batting.next_up),
                    roll_data={
                        "dice": {"d6": d6, "d20": d20},
                        "total": d6 + d20,
                        "chaos": d20 == 1,
                    },
                    context={
                        "inning": self.state.inning,
                        "half": str(self.state.half),
                        "weight": d6 / 4,
                    },
                    rolled_at=ROLLS_START + datetime.timedelta(seconds=number, milliseconds=index),
                )
            )
        return batch

    async def save_rolls(self, db: Database, rng: random.Random, size: int = 2) -> int:
        """Roll ``size`` dice for the coming play and store them (``save_rolls_batch``)."""
        batch = self.roll_batch(rng, size)
        stored = await db.save_rolls_batch(batch)
        self.rolls.extend(batch)
        return stored

    async def substitute(
        self,
        db: Database,
        rng: random.Random,
        *,
        team_id: int | None = None,
        slot: int | None = None,
    ) -> Lineup:
        """Bring a new member in after the last play: slot 0-8 replaces that batter (same
        position and batting order), slot 9 the pitcher."""
        team = self.teams[team_id if team_id is not None else rng.choice([AWAY, HOME])]
        chosen = slot if slot is not None else rng.choice([0, 1, 8, 9])
        replaced = team.pitcher if chosen == 9 else team.batters[chosen]
        member = _member_id(team.team_id, 10 + team.next_substitute)
        position = self.active[replaced].position
        entry = await db.add_substitution(
            game_id=self.game_id,
            replacing_id=replaced,
            after_play=self.last_play,
            position=position,
            card_id=member if self.league == "pd" else None,
            player_id=None if self.league == "pd" else member,
        )
        team.next_substitute += 1
        del self.active[replaced]
        self.active[entry.id] = entry
        if chosen == 9:
            team.pitcher = entry.id
        else:
            team.batters[chosen] = entry.id
        self.substitutions.append(entry)
        return entry


def lineup_ids_named(plays: Iterable[PlayData | Play]) -> set[int]:
    """Every lineup entry the plays name: batters, pitchers, catchers and runners."""
    return {
        lineup_id
        for play in plays
        for lineup_id in (
            play.batter_id,
            play.pitcher_id,
            play.catcher_id,
            play.on_first_id,
            play.on_second_id,
            play.on_third_id,
        )
        if lineup_id is not None
    }


def _member_id(team_id: int, slot: int) -> int:
    return team_id * 1000 + slot + 1


def _walk(batter: int, bases: list[int | None]) -> tuple[list[int | None], int]:
    """Bases after a walk: only forced runners move."""
    first, second, third = bases
    if first is None:
        return [batter, second, third], 0
    if second is None:
        return [batter, first, third], 0
    if third is None:
        return [batter, first, second], 0
    return [batter, first, second], 1
