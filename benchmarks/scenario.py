"""Realistic games for the benchmarks, written through gamedb itself.

A game has a full roster (26 players a team), both starting lineups (nine batters and a
pitcher a team), an open session with a state snapshot, and plays simulated half inning by
half inning: outcomes drawn with big-league frequencies, runners advancing, the score and the
counting stats following. Everything is deterministic for a given seed::

    game = await prepare_game(db, plays=300, seed=1)
    plays = PlayScript(game, seed=2).plays(1, 300)    # PlayData for numbers 1..300
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import random
import uuid
from collections.abc import Iterator
from typing import Any

from gamedb import Database, Half, PlayData, RollData, RollRecord, Transaction

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

# (outcome, weight, bases the batter reaches: 0 out, 4 home run, outs recorded)
_OUTCOMES: tuple[tuple[str, int, int, int], ...] = (
    ("strikeout", 22, 0, 1),
    ("groundout", 21, 0, 1),
    ("flyout", 18, 0, 1),
    ("lineout", 6, 0, 1),
    ("single", 14, 1, 0),
    ("double", 5, 2, 0),
    ("triple", 1, 3, 0),
    ("homerun", 3, 4, 0),
    ("walk", 8, 1, 0),
    ("hit_by_pitch", 1, 1, 0),
    ("double_play", 1, 0, 2),
)
_DESCRIPTIONS = {
    "strikeout": "Strikeout swinging on a high fastball",
    "groundout": "Ground ball to the shortstop, thrown out at first",
    "flyout": "Fly ball caught on the warning track in center field",
    "lineout": "Line drive snared by the second baseman",
    "single": "Single lined into left-center field",
    "double": "Double down the right-field line",
    "triple": "Triple into the right-center gap",
    "homerun": "Home run over the left-field wall",
    "walk": "Walk on four pitches",
    "hit_by_pitch": "Hit by a pitch on the elbow guard",
    "double_play": "Ground ball, 6-4-3 double play",
}


@dataclasses.dataclass(frozen=True, slots=True)
class TeamLineup:
    """The lineup ids of one team's starters: batters in batting order, pitcher, catcher."""

    team_id: int
    batters: tuple[int, ...]
    pitcher: int
    catcher: int


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
                catcher=raw["catcher"],
            )

        return cls(
            game_id=uuid.UUID(data["game_id"]), home=team(data["home"]), away=team(data["away"])
        )


class PlayScript:
    """The plays of one simulated game, numbered from 1, the same for the same seed."""

    __slots__ = ("_game", "_seed")

    def __init__(self, game: PreparedGame, *, seed: int = 0) -> None:
        self._game = game
        self._seed = seed

    def __iter__(self) -> Iterator[PlayData]:
        game, rng = self._game, random.Random(self._seed)
        outcomes = [o[0] for o in _OUTCOMES]
        weights = [o[1] for o in _OUTCOMES]
        effects = {o[0]: (o[2], o[3]) for o in _OUTCOMES}
        lineups = {Half.TOP: game.away, Half.BOTTOM: game.home}
        next_batter = {Half.TOP: 0, Half.BOTTOM: 0}
        score = {Half.TOP: 0, Half.BOTTOM: 0}
        inning, half, number = 1, Half.TOP, 0
        while True:
            order = lineups[half].batters
            fielding = lineups[Half.BOTTOM if half is Half.TOP else Half.TOP]
            bases: list[int | None] = [None, None, None]
            outs = 0
            while outs < 3:
                number += 1
                batter = order[next_batter[half] % len(order)]
                next_batter[half] += 1
                outcome = rng.choices(outcomes, weights)[0]
                runners = tuple(bases)
                if outcome == "double_play" and bases[0] is None:
                    outcome = "groundout"
                elif outcome == "double_play":
                    bases[0] = None
                reached, outs_made = effects[outcome]
                outs_made = min(outs_made, 3 - outs)
                runs = 0
                if reached == 4:
                    runs = 1 + sum(runner is not None for runner in bases)
                    bases = [None, None, None]
                elif outcome in {"walk", "hit_by_pitch"}:
                    if bases[0] is not None:
                        if bases[1] is not None:
                            runs += int(bases[2] is not None)
                            bases[2] = bases[1]
                        bases[1] = bases[0]
                    bases[0] = batter
                elif reached:
                    advanced: list[int | None] = [None, None, None]
                    for base, runner in enumerate(bases):
                        if runner is None:
                            continue
                        if base + reached >= 3:
                            runs += 1
                        else:
                            advanced[base + reached] = runner
                    advanced[reached - 1] = batter
                    bases = advanced
                score[half] += runs
                hit = outcome in {"single", "double", "triple", "homerun"}
                walked = outcome in {"walk", "hit_by_pitch"}
                dice = (rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 20))
                yield PlayData(
                    game_id=game.game_id,
                    play_number=number,
                    inning=inning,
                    half=half,
                    outs_before=outs,
                    outs_recorded=outs_made,
                    batter_id=batter,
                    pitcher_id=fielding.pitcher,
                    catcher_id=fielding.catcher,
                    on_first_id=runners[0],
                    on_second_id=runners[1],
                    on_third_id=runners[2],
                    dice_roll=f"d6 {dice[0]} | 2d6 {dice[1]}+{dice[2]} | d20 {dice[3]}",
                    result_description=_DESCRIPTIONS[outcome],
                    outcome=outcome,
                    pa=1,
                    ab=0 if walked else 1,
                    hit=int(hit),
                    double=int(outcome == "double"),
                    triple=int(outcome == "triple"),
                    homerun=int(outcome == "homerun"),
                    bb=int(outcome == "walk"),
                    so=int(outcome == "strikeout"),
                    hbp=int(outcome == "hit_by_pitch"),
                    rbi=runs,
                    run=int(reached == 4),
                    away_score=score[Half.TOP],
                    home_score=score[Half.BOTTOM],
                )
                outs += outs_made
            if half is Half.TOP:
                half = Half.BOTTOM
            else:
                half, inning = Half.TOP, inning + 1

    def between(self, first: int, last: int) -> Iterator[PlayData]:
        """Plays numbered ``first`` to ``last`` inclusive, made as they are taken."""
        for play in self:
            if play.play_number > last:
                return
            if play.play_number >= first:
                yield play

    def plays(self, first: int, last: int) -> list[PlayData]:
        """Plays numbered ``first`` to ``last`` inclusive."""
        return list(self.between(first, last))


def roll_batch(
    game_id: uuid.UUID, *, prefix: str, count: int, play_number: int, seed: int = 0
) -> list[RollRecord]:
    """``count`` dice rolls of one play with roll ids ``{prefix}-{i}`` (unique per prefix)."""
    rng = random.Random(seed)
    rolled_at = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)
    return [
        RollRecord(
            game_id=game_id,
            roll_id=f"{prefix}-{i}",
            roll_type="at_bat",
            play_number=play_number,
            team_id=1 + i % 2,
            player_id=100 + i % 26,
            roll_data=RollData(
                dice={
                    "d6_one": rng.randint(1, 6),
                    "d6_two_a": rng.randint(1, 6),
                    "d6_two_b": rng.randint(1, 6),
                    "d20": rng.randint(1, 20),
                },
                total=rng.randint(2, 12),
            ),
            context={"pitcher": 200 + i % 13, "count": f"{i % 4}-{i % 3}", "outs": i % 3},
            rolled_at=rolled_at + datetime.timedelta(milliseconds=i),
        )
        for i in range(count)
    ]


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
        catcher=ids["C"],
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
