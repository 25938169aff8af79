"""The demo's simulated games: the same seed plays the same game, and every game follows
the rules gamedb's own replay applies, so a rollback restores what the simulation holds."""

from __future__ import annotations

import datetime
import itertools
import uuid

import pytest

from gamedb import League, Play
from gamedb.replay import state_after
from gamedb_demo.simulation import (
    Event,
    GameRecord,
    GameSimulation,
    PlateAppearance,
    SessionSnapshot,
    Substitution,
    Undo,
)
from tests.simulate import lineup_ids_named

CLOCK_START = datetime.datetime(2026, 11, 27, 19, 5, tzinfo=datetime.UTC)


def play_offline(seed: str, league: League) -> tuple[list[Event], GameRecord]:
    """Play a game with lineup ids counted from 1 (as a database would hand them out) and a
    steady clock; return its events and its record."""
    ticks = itertools.count()
    sim = GameSimulation(
        uuid.UUID(int=0),
        league,
        seed=seed,
        clock=lambda: CLOCK_START + datetime.timedelta(seconds=next(ticks)),
    )
    return sim.play_offline(itertools.count(1))


def as_row(event: PlateAppearance) -> Play:
    return Play(**event.play.model_dump(), id=event.play.play_number, created_at=CLOCK_START)


def test_the_same_seed_plays_the_same_game() -> None:
    first_events, first = play_offline("s:1", League.SBA)
    again_events, again = play_offline("s:1", League.SBA)
    other_events, _ = play_offline("s:2", League.SBA)
    assert first_events == again_events
    assert first == again
    assert first_events != other_events


@pytest.mark.parametrize("league", [League.SBA, League.PD])
def test_games_follow_the_rules(league: League) -> None:
    for number in range(60):
        events, record = play_offline(f"rules:{number}", league)
        plays = [event for event in events if isinstance(event, PlateAppearance)]
        # After every play but the last, the state is what gamedb recomputes from the play
        # alone, which is what rollback_to_play restores.
        for event in plays[:-1]:
            assert event.status == "active"
            assert event.state == state_after(as_row(event))
        assert plays[-1].status == "completed"
        assert record.status == "completed"
        assert record.state.home_score != record.state.away_score
        assert record.plays[-1].inning >= 9
        assert [play.play_number for play in record.plays] == list(range(1, len(record.plays) + 1))
        assert record.plays[-1].home_score == record.state.home_score
        assert record.plays[-1].away_score == record.state.away_score
        assert sum(play.run for play in record.plays) == (
            record.state.home_score + record.state.away_score
        )
        active = record.active_lineups
        undos = [event for event in events if isinstance(event, Undo)]
        assert len(undos) == record.undos == 1
        assert len({roll.roll_id for roll in record.rolls}) == len(record.rolls)
        assert all((roll.play_number or 0) <= len(record.plays) for roll in record.rolls)
        # Each team ends with one active batter in every slot and one active pitcher (0).
        assert sorted((entry.team_id, entry.batting_order or 0) for entry in active) == sorted(
            (team, slot)
            for team in (record.home_team_id, record.away_team_id)
            for slot in range(10)
        )
        assert len({(entry.team_id, entry.ident) for entry in record.lineups}) == len(
            record.lineups
        )
        assert isinstance(events[-1], SessionSnapshot)
        assert events[-1].snapshot == record.session_snapshot


def test_games_have_pitching_changes_and_pinch_hitters() -> None:
    reasons = set()
    for number in range(40):
        events, _ = play_offline(f"subs:{number}", League.PD)
        reasons |= {event.reason for event in events if isinstance(event, Substitution)}
    assert reasons == {"pitching change", "pinch hitter"}


def test_play_offline_hands_out_the_given_lineup_ids_in_order() -> None:
    sim = GameSimulation(uuid.UUID(int=0), League.SBA, seed="ids:1")
    starters = sim.starters()
    events, record = sim.play_offline(itertools.count(501))
    handed = [entry.id for entry in record.lineups]
    assert handed[: len(starters)] == list(range(501, 501 + len(starters)))
    assert [(entry.ident, entry.position) for entry in record.lineups[: len(starters)]] == [
        (person.ident, person.position) for person in starters
    ]
    substitutes = [entry for entry in record.lineups if not entry.is_starter]
    assert substitutes
    assert all(entry.id > handed[len(starters) - 1] for entry in substitutes)
    assert sorted(handed) == handed
    assert lineup_ids_named(record.plays) <= set(handed)
    appearances = [event.play for event in events if isinstance(event, PlateAppearance)]
    assert appearances[-1] == record.plays[-1]
