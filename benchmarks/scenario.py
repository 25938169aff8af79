"""Realistic games for the benchmarks, written through gamedb itself.

A game has a full roster (26 players a team), both starting lineups (nine batters and a
pitcher a team), an open session with a state snapshot, and the plays of
:mod:`gamedb_demo.simulation`: nine-inning games with big-league outcomes, runners, scores and
counting stats, one after another, each picking up where the last stopped so that a game
goes on for as many plays as a benchmark needs. Everything is deterministic for a given
seed::

    game = await prepare_game(db, plays=300, seed=1)
    plays = PlayScript(game, seed=2).plays(1, 300)    # PlayData for numbers 1..300
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import functools
import itertools
import random
import uuid
from collections.abc import Iterator
from typing import Any

from gamedb import Database, Half, League, PlayData, RollData, RollRecord, Transaction
from gamedb_demo.simulation import GameSimulation

__all__ = [
    "PlayScript",
    "PreparedGame",
    "TeamLineup",
    "prepare_game",
    "prepare_games",
    "roll_batch",
]

ROSTER_SIZE = 26
FIELDERS = ("C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH")
_LINEUP_FIELDS = (
    "batter_id",
    "pitcher_id",
    "catcher_id",
    "on_first_id",
    "on_second_id",
    "on_third_id",
)


@dataclasses.dataclass(frozen=True, slots=True)
class TeamLineup:
    """The lineup ids of one team's starters: batters in batting order (fielding
    :data:`FIELDERS` in that order, the catcher first) and the pitcher."""

    team_id: int
    batters: tuple[int, ...]
    pitcher: int


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedGame:
    """A game stored by :func:`prepare_game`: its id and both starting lineups."""

    game_id: uuid.UUID
    home: TeamLineup
    away: TeamLineup

    def to_json(self) -> dict[str, Any]:
        return {
            "game_id": str(self.game_id),
            "home": dataclasses.asdict(self.home),
            "away": dataclasses.asdict(self.away),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedGame:
        def team(raw: dict[str, Any]) -> TeamLineup:
            return TeamLineup(
                team_id=raw["team_id"],
                batters=tuple(raw["batters"]),
                pitcher=raw["pitcher"],
            )

        return cls(
            game_id=uuid.UUID(data["game_id"]), home=team(data["home"]), away=team(data["away"])
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _SimulatedGame:
    """The plays of one simulated game, numbered from 1, and for each lineup id they name the
    starter's seat it stands for: his team's batting half and his position."""

    plays: tuple[PlayData, ...]
    seats: dict[int, tuple[Half, str]]


@functools.cache
def _simulated_game(seed: int, number: int) -> _SimulatedGame:
    """Game ``number`` of the series ``seed``; every prepared game plays the same series, so
    a thousand games in flight hold one copy of it."""
    sim = GameSimulation(uuid.UUID(int=0), League.SBA, seed=f"{seed}:{number}")
    _, record = sim.play_offline(itertools.count(1))
    halves = {sim.away.team_id: Half.TOP, sim.home.team_id: Half.BOTTOM}
    seats: dict[int, tuple[Half, str]] = {}
    for entry in record.lineups:
        # A prepared game seats its starters only: a substitute plays under the entry he
        # replaces, which comes before him.
        if entry.replacing_id is None:
            seats[entry.id] = (halves[entry.team_id], entry.position)
        else:
            seats[entry.id] = seats[entry.replacing_id]
    return _SimulatedGame(plays=record.plays, seats=seats)


class PlayScript:
    """The plays of one game, numbered from 1 without gaps, the same for the same seed: the
    simulated games of series ``seed`` one after another, each continuing the last one's
    play numbers, innings and score."""

    __slots__ = ("_game", "_seed")

    def __init__(self, game: PreparedGame, *, seed: int = 0) -> None:
        self._game = game
        self._seed = seed

    def between(self, first: int, last: int) -> Iterator[PlayData]:
        """Plays numbered ``first`` to ``last`` inclusive, made as they are taken."""
        game = self._game
        lineups = {Half.TOP: game.away, Half.BOTTOM: game.home}
        # Simulated starters take the stored seats by position, so that a play's catcher is
        # the stored catcher; the batting order is the simulation's.
        positions = {
            half: {**dict(zip(FIELDERS, team.batters, strict=True)), "P": team.pitcher}
            for half, team in lineups.items()
        }
        played = innings = away_score = home_score = 0
        for number in itertools.count():
            if played >= last:
                return
            simulated = _simulated_game(self._seed, number)
            ids = {
                lineup_id: positions[half][position]
                for lineup_id, (half, position) in simulated.seats.items()
            }
            for play in simulated.plays[max(0, first - 1 - played) : last - played]:
                update: dict[str, object] = {
                    field: ids[lineup_id]
                    for field in _LINEUP_FIELDS
                    if (lineup_id := getattr(play, field)) is not None
                }
                yield play.model_copy(
                    update={
                        **update,
                        "game_id": game.game_id,
                        "play_number": played + play.play_number,
                        "inning": innings + play.inning,
                        "away_score": away_score + play.away_score,
                        "home_score": home_score + play.home_score,
                    }
                )
            final = simulated.plays[-1]
            played += len(simulated.plays)
            innings += final.inning
            away_score += final.away_score
            home_score += final.home_score

    def plays(self, first: int, last: int) -> list[PlayData]:
        """Plays numbered ``first`` to ``last`` inclusive."""
        return list(self.between(first, last))


def roll_batch(
    game_id: uuid.UUID, *, prefix: str, count: int, play_number: int, seed: int = 0
) -> list[RollRecord]:
    """``count`` dice rolls of one play with roll ids ``{prefix}-{i}`` (unique per prefix),
    shaped like the engine's at-bat rolls: ``roll_data`` of seven keys (the dice, their total,
    the chart column and row read, the split die and two checks) and ``context`` of three."""
    rng = random.Random(seed)
    rolled_at = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)
    batch = []
    for i in range(count):
        d6_one, d6_two_a, d6_two_b = (rng.randint(1, 6) for _ in range(3))
        batch.append(
            RollRecord(
                game_id=game_id,
                roll_id=f"{prefix}-{i}",
                roll_type="at_bat",
                play_number=play_number,
                team_id=1 + i % 2,
                player_id=100 + i % 26,
                roll_data=RollData.model_validate(
                    {
                        "dice": {
                            "d6_one": d6_one,
                            "d6_two_a": d6_two_a,
                            "d6_two_b": d6_two_b,
                            "d20": rng.randint(1, 20),
                        },
                        "total": d6_two_a + d6_two_b,
                        "column": "ABC"[d6_one % 3],
                        "row": d6_two_a + d6_two_b,
                        "split": rng.randint(1, 20),
                        "wild_pitch_check": rng.random() < 0.05,
                        "result": rng.choice(("single", "strikeout", "groundout", "walk")),
                    }
                ),
                context={"pitcher": 200 + i % 13, "count": f"{i % 4}-{i % 3}", "outs": i % 3},
                rolled_at=rolled_at + datetime.timedelta(milliseconds=i),
            )
        )
    return batch


async def _seat_team(tx: Transaction, game_id: uuid.UUID, team_id: int, roster: bool) -> TeamLineup:
    players = [team_id * 1000 + i for i in range(1, ROSTER_SIZE + 1)]
    if roster:
        for player_id in players:
            await tx.add_sba_roster_player(game_id=game_id, player_id=player_id, team_id=team_id)
    ids: dict[str, int] = {}
    for order, (player_id, position) in enumerate(zip(players, FIELDERS, strict=False), 1):
        entry = await tx.add_sba_lineup_player(
            game_id=game_id,
            team_id=team_id,
            player_id=player_id,
            position=position,
            batting_order=order,
        )
        ids[position] = entry.id
    pitcher = await tx.add_sba_lineup_player(
        game_id=game_id, team_id=team_id, player_id=players[len(FIELDERS)], position="P"
    )
    return TeamLineup(
        team_id=team_id,
        batters=tuple(ids[position] for position in FIELDERS),
        pitcher=pitcher.id,
    )


async def prepare_game(
    db: Database, *, plays: int = 0, seed: int = 0, roster: bool = True
) -> PreparedGame:
    """Store an SBA game with both lineups, an open session, both rosters (unless
    ``roster=False``) and ``plays`` plays; the game's state follows its last play. The set-up
    is one transaction, the plays are saved one by one as the engine does."""
    rng = random.Random(seed)
    game_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    async with db.transaction() as tx:
        await tx.create_game(game_id=game_id, league_id="sba", home_team_id=1, away_team_id=2)
        home = await _seat_team(tx, game_id, 1, roster)
        away = await _seat_team(tx, game_id, 2, roster)
        await tx.create_game_session(game_id, {"home": "manager-1", "away": "manager-2"})
    game = PreparedGame(game_id=game_id, home=home, away=away)
    last: PlayData | None = None
    for play in PlayScript(game, seed=seed).plays(1, plays):
        await db.save_play(play)
        last = play
    if last is not None:
        await db.update_game_state(
            game_id=game_id,
            inning=last.inning,
            half=last.half,
            home_score=last.home_score,
            away_score=last.away_score,
        )
        await db.update_session_snapshot(
            game_id, {"play_number": last.play_number, "inning": last.inning, "outs": 0}
        )
    return game


async def prepare_games(
    db: Database, count: int, *, seed: int, concurrency: int = 8
) -> list[PreparedGame]:
    """``count`` games with lineups and no plays (seeds ``seed``, ``seed + 1``, …), set up
    ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> PreparedGame:
        async with gate:
            return await prepare_game(db, seed=seed + index, roster=False)

    return list(await asyncio.gather(*(one(i) for i in range(count))))
