"""Small builders for test data: a game with both lineups, and plays against it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from gamedb import Database, Lineup

__all__ = ["SetUpGame", "play_dict", "set_up_game"]

HOME, AWAY = 1, 2
POSITIONS = ["C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH"]


@dataclasses.dataclass
class SetUpGame:
    game_id: uuid.UUID
    league: str
    home: list[Lineup]
    away: list[Lineup]

    @property
    def home_pitcher(self) -> Lineup:
        return self.home[-1]

    @property
    def away_pitcher(self) -> Lineup:
        return self.away[-1]


async def set_up_game(
    db: Database, league: str = "sba", *, game_id: uuid.UUID | None = None
) -> SetUpGame:
    """A game with nine batters and a pitcher per team (pitcher last in each list)."""
    gid = game_id or uuid.uuid4()
    await db.create_game(game_id=gid, league_id=league, home_team_id=HOME, away_team_id=AWAY)
    teams: dict[int, list[Lineup]] = {HOME: [], AWAY: []}
    for team in (HOME, AWAY):
        for order in range(1, 11):
            ident = team * 1000 + order
            position = POSITIONS[order - 1] if order <= 9 else "P"
            batting = order if order <= 9 else None
            if league == "sba":
                entry = await db.add_sba_lineup_player(
                    game_id=gid,
                    team_id=team,
                    player_id=ident,
                    position=position,
                    batting_order=batting,
                )
            else:
                entry = await db.add_pd_lineup_card(
                    game_id=gid,
                    team_id=team,
                    card_id=ident,
                    position=position,
                    batting_order=batting,
                )
            teams[team].append(entry)
    return SetUpGame(gid, league, teams[HOME], teams[AWAY])


def play_dict(game: SetUpGame, number: int, **changes: Any) -> dict[str, Any]:
    """Play ``number`` as the engine's dict: top of the first, the away lead-off batting."""
    play: dict[str, Any] = {
        "game_id": game.game_id,
        "play_number": number,
        "inning": 1,
        "half": "top",
        "outs_before": 0,
        "outs_recorded": 0,
        "batter_id": game.away[(number - 1) % 9].id,
        "pitcher_id": game.home_pitcher.id,
        "away_score": 0,
        "home_score": 0,
        "pa": 1,
        "ab": 1,
    }
    play.update(changes)
    return play
