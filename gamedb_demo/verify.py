"""Whether a game recovered from the database is the game the simulation played: the demo's
verdict, one list of differences per game::

    snapshot = await db.load_game_state(record.game_id, include_rolls=True)
    problems = compare(record, snapshot)    # [] when they are equal

Every field the simulation wrote is compared: the game row, plays, every lineup entry (the
replaced ones too), the roster, the rolls in full and the session snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

from gamedb.models import GameSnapshot, PlayData, RollRecord
from gamedb_demo.simulation import ExpectedLineup, GameRecord
from gamedb_gen.models import GameStatus, League, Lineup, Play, Roll

__all__ = ["compare"]


def compare(record: GameRecord, snapshot: GameSnapshot | None) -> list[str]:
    """How the recovered ``snapshot`` differs from the game the simulation played (empty
    when they are equal): game state, plays, active lineups, roster, rolls and session."""
    if snapshot is None:
        return ["the game is not in the database"]
    found: list[str] = []
    game, state = snapshot.game, record.state
    stored_state = (
        game.league_id,
        game.home_team_id,
        game.away_team_id,
        game.status,
        game.current_inning,
        game.current_half,
        game.outs,
        game.away_score,
        game.home_score,
    )
    expected_state = (
        record.league,
        record.home_team_id,
        record.away_team_id,
        record.status,
        state.inning,
        state.half,
        state.outs,
        state.away_score,
        state.home_score,
    )
    if stored_state != expected_state:
        found.append(f"game row {stored_state} != {expected_state}")
    if (game.completed_at is not None) != (record.status is GameStatus.COMPLETED):
        found.append(f"completed_at is {game.completed_at} for a {record.status} game")
    found.extend(_compare_plays(record.plays, snapshot.plays))
    expected_lineups = sorted(record.lineups, key=lambda entry: entry.id)
    stored_lineups = sorted(
        (_as_expected(entry, record.league) for entry in snapshot.lineups),
        key=lambda entry: entry.id,
    )
    if stored_lineups != expected_lineups:
        found.append(_first_difference("lineups", expected_lineups, stored_lineups))
    expected_roster = sorted((person.team_id, person.ident) for person in record.roster)
    stored_roster = sorted(
        (link.team_id, (link.card_id if record.league is League.PD else link.player_id) or -1)
        for link in snapshot.roster
    )
    if stored_roster != expected_roster:
        found.append(_first_difference("roster", expected_roster, stored_roster))
    expected_rolls = sorted((_roll_key(roll) for roll in record.rolls), key=_by_roll_id)
    stored_rolls = sorted((_roll_key(roll) for roll in snapshot.rolls or []), key=_by_roll_id)
    if stored_rolls != expected_rolls:
        found.append(_first_difference("rolls", expected_rolls, stored_rolls))
    session = snapshot.session
    if session is None:
        found.append("the game has no session")
    elif session.state_snapshot != record.session_snapshot:
        found.append(f"session snapshot {session.state_snapshot} != {record.session_snapshot}")
    return found


def _compare_plays(expected: Sequence[PlayData], stored: Sequence[Play]) -> list[str]:
    found = []
    if len(stored) != len(expected):
        found.append(f"{len(stored)} plays stored, {len(expected)} played")
    for play, row in zip(expected, stored, strict=False):
        if not play.matches(row):
            fields = [name for name, value in play if getattr(row, name) != value]
            found.append(f"play {play.play_number} differs in {', '.join(fields)}")
            break
    return found


def _as_expected(entry: Lineup, league: League) -> ExpectedLineup:
    ident = entry.card_id if league is League.PD else entry.player_id
    return ExpectedLineup(
        id=entry.id,
        team_id=entry.team_id,
        ident=-1 if ident is None else ident,
        position=entry.position,
        batting_order=entry.batting_order,
        is_starter=entry.is_starter,
        is_active=entry.is_active,
        replacing_id=entry.replacing_id,
        after_play=entry.after_play,
    )


def _roll_key(roll: RollRecord | Roll) -> tuple[object, ...]:
    return (
        roll.roll_id,
        roll.roll_type,
        roll.play_number,
        roll.team_id,
        roll.player_id,
        roll.roll_data,
        roll.context,
        roll.rolled_at,
    )


def _by_roll_id(key: tuple[object, ...]) -> str:
    return str(key[0])


def _first_difference(what: str, expected: Sequence[object], stored: Sequence[object]) -> str:
    for want, got in zip(expected, stored, strict=False):
        if want != got:
            return f"{what}: stored {got} where {want} was written"
    return f"{what}: {len(stored)} stored, {len(expected)} written"
