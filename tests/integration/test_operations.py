"""Every engine operation: the old layer's documented flows, idempotency and bad input."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import asyncpg
import pytest
from pydantic import JsonValue

from gamedb import (
    ConstraintViolation,
    Database,
    GameNotFound,
    GameStatus,
    Half,
    InvalidInput,
    League,
    PdRosterLinkData,
    RollRecord,
    SbaRosterLinkData,
    StaleState,
    WrongLeague,
)
from gamedb.errors import translate
from tests.factories import AWAY, HOME, SetUpGame, play_dict, set_up_game


async def table_counts(db: Database) -> dict[str, int]:
    """Row counts of every table: the 'database unchanged' witness."""
    async with db.pool.acquire() as conn:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions")
        }


# ---- the old layer's documented flows ----------------------------------------------------


async def test_create_complete_game_with_lineups_and_session(db: Database) -> None:
    gid = uuid.uuid4()
    game = await db.create_game(
        game_id=gid,
        league_id="sba",
        home_team_id=1,
        away_team_id=2,
        game_mode="friendly",
        visibility="public",
    )
    assert (game.id, game.league_id, game.status) == (gid, League.SBA, GameStatus.PENDING)
    assert (game.current_inning, game.current_half, game.home_score, game.state_version) == (
        1,
        Half.TOP,
        0,
        0,
    )
    pitcher = await db.add_sba_lineup_player(
        game_id=gid, team_id=1, player_id=101, position="P", batting_order=1, is_starter=True
    )
    assert (pitcher.player_id, pitcher.card_id, pitcher.is_active) == (101, None, True)
    session = await db.create_game_session(gid)
    assert session.game_id == gid and session.connected_users == {}
    assert await db.get_active_lineup(gid, 1) == [pitcher]
    assert await db.get_game(gid) == game


async def test_record_plays_and_update_state(db: Database) -> None:
    game = await set_up_game(db)
    play_id = await db.save_play(play_dict(game, 1, outs_recorded=1, so=1))
    assert isinstance(play_id, int)
    update = await db.update_game_state(
        game_id=game.game_id, inning=1, half="top", home_score=0, away_score=0, outs=1
    )
    assert update.changed and update.state_version == 1
    plays = await db.get_plays(game.game_id)
    assert [(p.id, p.play_number, p.so) for p in plays] == [(play_id, 1, 1)]


async def test_record_play_writes_play_and_state_together(db: Database) -> None:
    game = await set_up_game(db)
    state = {"inning": 1, "half": "top", "home_score": 0, "away_score": 1, "outs": 0}
    recorded = await db.record_play(
        play_dict(game, 1, homerun=1, hit=1, run=1, rbi=1, away_score=1), state
    )
    stored = await db.get_game(game.game_id)
    assert stored is not None
    assert (stored.away_score, stored.state_version, stored.status) == (
        1,
        recorded.state_version,
        GameStatus.ACTIVE,
    )
    again = await db.record_play(
        play_dict(game, 1, homerun=1, hit=1, run=1, rbi=1, away_score=1), state
    )
    assert again == recorded, "a re-sent record_play returns what was stored"
    assert len(await db.get_plays(game.game_id)) == 1


async def test_record_play_with_stale_version_writes_nothing(db: Database) -> None:
    game = await set_up_game(db)
    state = {"inning": 1, "half": "top", "home_score": 0, "away_score": 0, "outs": 1}
    first = await db.record_play(play_dict(game, 1, outs_recorded=1), state, expected_version=0)
    assert first.state_version == 1
    before = await table_counts(db)
    with pytest.raises(StaleState) as caught:
        await db.record_play(play_dict(game, 2, outs_before=1), state, expected_version=0)
    assert caught.value.game_id == game.game_id
    assert await table_counts(db) == before


async def test_batch_save_rolls_is_idempotent(db: Database) -> None:
    game = await set_up_game(db)
    rolls = [
        RollRecord(
            game_id=game.game_id,
            roll_id=f"r{i}",
            roll_type="ab_roll",
            play_number=1,
            team_id=AWAY,
            player_id=2001,
            roll_data={"dice": {"d6": i % 6 + 1}, "total": i},
            context={"note": "x", "i": i},
        )
        for i in range(25)
    ]
    assert await db.save_rolls_batch(rolls) == 25
    assert await db.save_rolls_batch(rolls) == 0, "a re-sent batch stores nothing new"
    stored = await db.get_rolls_for_game(game.game_id)
    assert sorted(r.roll_id for r in stored) == sorted(r.roll_id for r in rolls)
    by_id = {r.roll_id: r for r in stored}
    assert by_id["r7"].roll_data.dice == {"d6": 2} and by_id["r7"].roll_data.total == 7
    assert by_id["r7"].context == {"note": "x", "i": 7}
    assert await db.save_rolls_batch([]) == 0


def dice(game_id: uuid.UUID, roll_id: str, d20: int, **extra: Any) -> RollRecord:
    return RollRecord(
        game_id=game_id,
        roll_id=roll_id,
        roll_type="ab_roll",
        play_number=1,
        roll_data={"dice": {"d20": d20}, "total": d20},
        **extra,
    )


async def test_a_re_sent_roll_with_other_dice_is_refused_and_stores_nothing(db: Database) -> None:
    game = await set_up_game(db)
    assert await db.save_rolls_batch([dice(game.game_id, "r1", 17)]) == 1
    before = await table_counts(db)
    with pytest.raises(ConstraintViolation) as caught:
        await db.save_rolls_batch([dice(game.game_id, "r2", 3), dice(game.game_id, "r1", 4)])
    assert caught.value.game_id == game.game_id and caught.value.constraint == "rolls_pkey"
    assert "r1" in str(caught.value)
    assert await table_counts(db) == before, "nothing of the refused batch is stored"
    [stored] = await db.get_rolls_for_game(game.game_id)
    assert stored.roll_data.dice == {"d20": 17}, "the stored dice stand"
    moment = stored.rolled_at + datetime.timedelta(seconds=1)
    with pytest.raises(ConstraintViolation):
        await db.save_rolls_batch([dice(game.game_id, "r1", 17, rolled_at=moment)])
    # The same roll again, with or without its time, is a retry.
    assert await db.save_rolls_batch([dice(game.game_id, "r1", 17)]) == 0
    assert (
        await db.save_rolls_batch([dice(game.game_id, "r1", 17, rolled_at=stored.rolled_at)]) == 0
    )


async def test_one_roll_id_twice_in_a_batch(db: Database) -> None:
    game = await set_up_game(db)
    before = await table_counts(db)
    with pytest.raises(ConstraintViolation) as caught:
        await db.save_rolls_batch([dice(game.game_id, "r1", 5), dice(game.game_id, "r1", 6)])
    assert caught.value.game_id == game.game_id and caught.value.constraint == "rolls_pkey"
    assert await table_counts(db) == before
    same = dice(game.game_id, "r1", 5)
    assert await db.save_rolls_batch([same, dice(game.game_id, "r2", 1), same]) == 2
    assert [r.roll_id for r in await db.get_rolls_for_game(game.game_id)] == ["r1", "r2"]


async def test_rolls_come_back_in_the_order_they_were_handed_over(db: Database) -> None:
    game = await set_up_game(db)
    ids = [f"r{n}" for n in range(1, 13)]  # as text r10 < r11 < r12 < r2
    async with db.transaction() as tx:  # one now(): rolled_at cannot order them
        await tx.save_rolls_batch([dice(game.game_id, roll_id, 1) for roll_id in ids[:7]])
        await tx.save_rolls_batch([dice(game.game_id, roll_id, 2) for roll_id in ids[7:]])
    await db.save_rolls_batch([dice(game.game_id, "a-late", 3)])
    expected = [*ids, "a-late"]
    assert [r.roll_id for r in await db.get_rolls_for_game(game.game_id)] == expected
    snapshot = await db.load_game_state(game.game_id, include_rolls=True)
    assert snapshot is not None and snapshot.rolls is not None
    assert [r.roll_id for r in snapshot.rolls] == expected


async def test_rollback_building_blocks_return_counts(db: Database) -> None:
    game = await set_up_game(db)
    for n in range(1, 6):
        await db.save_play(play_dict(game, n))
    await db.save_rolls_batch(
        [
            {
                "game_id": game.game_id,
                "roll_id": f"r{n}",
                "roll_type": "ab",
                "play_number": n,
                "roll_data": {"dice": {"d20": n}},
            }
            for n in range(1, 6)
        ]
    )
    sub = await db.add_substitution(
        game_id=game.game_id,
        replacing_id=game.home_pitcher.id,
        after_play=4,
        position="P",
        player_id=1999,
    )
    assert sub.is_active and sub.replacing_id == game.home_pitcher.id
    assert await db.delete_plays_after(game.game_id, 3) == 2
    assert await db.delete_substitutions_after(game.game_id, 3) == 1
    assert await db.delete_rolls_after(game.game_id, 3) == 2
    active = await db.get_active_lineup(game.game_id, HOME)
    assert game.home_pitcher.id in {entry.id for entry in active}


async def test_rosters_by_league_and_team(db: Database) -> None:
    sba = await set_up_game(db, "sba")
    pd = await set_up_game(db, "pd")
    s1 = await db.add_sba_roster_player(game_id=sba.game_id, player_id=11, team_id=HOME)
    s2 = await db.add_sba_roster_player(game_id=sba.game_id, player_id=22, team_id=AWAY)
    p1 = await db.add_pd_roster_card(game_id=pd.game_id, card_id=501, team_id=HOME)
    assert isinstance(s1, SbaRosterLinkData) and isinstance(p1, PdRosterLinkData)
    assert await db.add_sba_roster_player(game_id=sba.game_id, player_id=11, team_id=HOME) == s1
    assert await db.get_sba_roster(sba.game_id) == [s1, s2]
    assert await db.get_sba_roster(sba.game_id, team_id=AWAY) == [s2]
    assert await db.get_pd_roster(pd.game_id) == [p1]
    assert await db.get_pd_roster(sba.game_id) == []
    assert await db.remove_roster_entry(sba.game_id, s1.id) is True
    assert await db.remove_roster_entry(sba.game_id, s1.id) is False
    assert await db.get_sba_roster(sba.game_id) == [s2]


async def test_session_snapshot_round_trip(db: Database) -> None:
    game = await set_up_game(db)
    snapshot: JsonValue = {
        "bases": [None, 2001, None],
        "count": {"balls": 3, "strikes": 2},
        "note": "ü",
    }
    session = await db.update_session_snapshot(game.game_id, snapshot)
    assert session.state_snapshot == snapshot
    stored = await db.get_game_session(game.game_id)
    assert stored is not None and stored.state_snapshot == snapshot
    assert await db.create_game_session(game.game_id) == stored, "opening again keeps it"


async def test_stats_and_box_score(db: Database) -> None:
    game = await set_up_game(db)
    batter = game.away[0]
    await db.save_play(play_dict(game, 1, hit=1, double=1))
    await db.save_play(
        play_dict(game, 2, batter_id=batter.id, homerun=1, hit=1, run=2, rbi=2, away_score=2)
    )
    await db.save_play(play_dict(game, 3, outs_recorded=1, so=1, away_score=2))
    await db.save_play(
        play_dict(game, 4, outs_before=1, outs_recorded=1, error=1, away_score=2, ab=1, pa=1)
    )
    await db.update_game_state(
        game_id=game.game_id, inning=1, half="top", home_score=0, away_score=2, outs=2
    )
    lines = {line.lineup_id: line for line in await db.get_batter_stats(game.game_id)}
    assert (
        lines[batter.id].pa,
        lines[batter.id].hit,
        lines[batter.id].homerun,
        lines[batter.id].rbi,
    ) == (2, 2, 1, 2)
    pitching = await db.get_pitcher_stats(game.game_id)
    assert [
        (p.lineup_id, p.batters_faced, p.hits_allowed, p.runs_allowed, p.strikeouts, p.outs)
        for p in pitching
    ] == [(game.home_pitcher.id, 4, 2, 2, 1, 2)]
    assert await db.get_batter_stats(game.game_id, lineup_id=batter.id) == [lines[batter.id]]
    box = await db.get_box_score(game.game_id)
    assert (box.away.runs, box.away.hits, box.away.errors) == (2, 2, 0)
    assert (box.home.runs, box.home.hits, box.home.errors) == (0, 0, 1)
    assert len(box.lines) == 20


# ---- idempotency -------------------------------------------------------------------------


async def test_resent_play_returns_same_id_and_different_content_is_refused(db: Database) -> None:
    game = await set_up_game(db)
    first = await db.save_play(play_dict(game, 1))
    assert await db.save_play(play_dict(game, 1)) == first
    before = await table_counts(db)
    with pytest.raises(ConstraintViolation) as caught:
        await db.save_play(play_dict(game, 1, hit=1))
    assert caught.value.constraint == "plays_play_number_key"
    assert caught.value.game_id == game.game_id
    assert await table_counts(db) == before
    stored = await db.get_plays(game.game_id)
    assert stored[0].hit == 0, "never a silent overwrite"


async def test_create_game_is_idempotent_but_refuses_other_values(db: Database) -> None:
    gid = uuid.uuid4()
    game = await db.create_game(game_id=gid, league_id="pd", home_team_id=5, away_team_id=6)
    assert await db.create_game(game_id=gid, league_id="pd", home_team_id=5, away_team_id=6) == game
    with pytest.raises(ConstraintViolation):
        await db.create_game(game_id=gid, league_id="sba", home_team_id=5, away_team_id=6)


async def test_update_game_state_unchanged_and_stale(db: Database) -> None:
    game = await set_up_game(db)
    kwargs: dict[str, Any] = {
        "game_id": game.game_id,
        "inning": 2,
        "half": "bottom",
        "home_score": 1,
        "away_score": 0,
    }
    first = await db.update_game_state(**kwargs)
    assert first.changed and first.state_version == 1
    same = await db.update_game_state(**kwargs)
    assert not same.changed and same.state_version == 1, "unchanged values write nothing"
    newer = await db.update_game_state(**{**kwargs, "home_score": 2}, expected_version=1)
    assert newer.state_version == 2
    with pytest.raises(StaleState):
        await db.update_game_state(**{**kwargs, "home_score": 3}, expected_version=1)
    stored = await db.get_game(game.game_id)
    assert stored is not None and (stored.home_score, stored.state_version) == (2, 2)


async def test_update_game_state_completes_game(db: Database) -> None:
    game = await set_up_game(db)
    await db.update_game_state(
        game_id=game.game_id,
        inning=9,
        half="bottom",
        home_score=3,
        away_score=2,
        status="completed",
    )
    stored = await db.get_game(game.game_id)
    assert stored is not None and stored.status is GameStatus.COMPLETED
    assert stored.completed_at is not None


async def test_completed_at_is_the_first_completion_while_the_game_stays_completed(
    db: Database,
) -> None:
    game = await set_up_game(db)

    async def write(home_score: int, status: str | None = None) -> None:
        await db.update_game_state(
            game_id=game.game_id,
            inning=9,
            half="bottom",
            home_score=home_score,
            away_score=2,
            status=status,
        )

    async def completed_at() -> datetime.datetime | None:
        stored = await db.get_game(game.game_id)
        assert stored is not None
        return stored.completed_at

    await write(1)
    assert await completed_at() is None
    await write(3, "completed")
    first = await completed_at()
    assert first is not None
    await write(4)  # status kept: still completed
    assert await completed_at() == first
    await write(5, "completed")
    assert await completed_at() == first
    await write(5, "active")
    assert await completed_at() is None
    await write(6, "completed")
    again = await completed_at()
    assert again is not None and again > first


# ---- bad input: typed error, database unchanged ------------------------------------------


async def test_unknown_game_everywhere(db: Database) -> None:
    await set_up_game(db)
    before = await table_counts(db)
    missing = uuid.uuid4()
    calls = [
        db.update_game_state(game_id=missing, inning=1, half="top", home_score=0, away_score=0),
        db.add_sba_lineup_player(game_id=missing, team_id=1, player_id=1, position="P"),
        db.add_pd_lineup_card(game_id=missing, team_id=1, card_id=1, position="P"),
        db.add_sba_roster_player(game_id=missing, player_id=1, team_id=1),
        db.save_play(
            {
                "game_id": missing,
                "play_number": 1,
                "inning": 1,
                "half": "top",
                "outs_before": 0,
                "batter_id": 1,
                "pitcher_id": 2,
                "away_score": 0,
                "home_score": 0,
            }
        ),
        db.save_rolls_batch(
            [{"game_id": missing, "roll_id": "x", "roll_type": "ab", "roll_data": {}}]
        ),
        db.create_game_session(missing),
        db.update_session_snapshot(missing, {"a": 1}),
        db.rollback_to_play(missing, 0),
        db.add_substitution(
            game_id=missing, replacing_id=1, after_play=0, position="P", player_id=5
        ),
        db.get_box_score(missing),
    ]
    for call in calls:
        with pytest.raises(GameNotFound) as caught:
            await call
        assert caught.value.game_id == missing
    assert await db.get_game(missing) is None
    assert await db.load_game_state(missing) is None
    assert await table_counts(db) == before


async def test_wrong_league_both_ways(db: Database) -> None:
    sba = await set_up_game(db, "sba")
    pd = await set_up_game(db, "pd")
    before = await table_counts(db)
    with pytest.raises(WrongLeague) as caught:
        await db.add_pd_lineup_card(game_id=sba.game_id, team_id=HOME, card_id=9, position="C")
    assert caught.value.game_id == sba.game_id and "sba" in str(caught.value)
    with pytest.raises(WrongLeague):
        await db.add_sba_lineup_player(game_id=pd.game_id, team_id=HOME, player_id=9, position="C")
    with pytest.raises(WrongLeague):
        await db.add_pd_roster_card(game_id=sba.game_id, card_id=9, team_id=HOME)
    with pytest.raises(WrongLeague):
        await db.add_sba_roster_player(game_id=pd.game_id, player_id=9, team_id=HOME)
    assert await table_counts(db) == before


async def test_both_or_neither_card_and_player(db: Database) -> None:
    game = await set_up_game(db)
    before = await table_counts(db)
    for ids in ({"card_id": 1, "player_id": 2}, {}):
        with pytest.raises(InvalidInput, match="exactly one"):
            await db.add_substitution(
                game_id=game.game_id,
                replacing_id=game.home_pitcher.id,
                after_play=0,
                position="P",
                **ids,
            )
    assert await table_counts(db) == before
    async with db.pool.acquire() as conn:
        for table, extra in (("lineups", ", position"), ("roster_links", "")):
            for card, player in ((1, 2), (None, None)):
                values = "'P'" if extra else ""
                sql = (
                    f"INSERT INTO {table} (game_id, league_id, team_id, card_id, player_id{extra}) "
                    f"VALUES ($1, $4, 1, $2, $3{', ' + values if values else ''})"
                )
                # With PD and a card the league check passes: only the XOR check is left.
                league = "pd" if card is not None else "sba"
                with pytest.raises(asyncpg.CheckViolationError) as raw:
                    await conn.execute(sql, game.game_id, card, player, league)
                refused = translate(raw.value)
                assert isinstance(refused, ConstraintViolation)
                assert refused.constraint == f"{table}_one_of_card_or_player"
    assert await table_counts(db) == before


async def test_batter_from_another_game_is_refused(db: Database) -> None:
    game = await set_up_game(db)
    other = await set_up_game(db)
    before = await table_counts(db)
    for field in ("batter_id", "pitcher_id"):
        with pytest.raises(ConstraintViolation) as caught:
            await db.save_play(play_dict(game, 1, **{field: other.away[0].id}))
        assert caught.value.constraint == f"plays_{field.removesuffix('_id')}_fkey"
        assert caught.value.game_id == game.game_id
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"home_score": -1}, "home_score"),
        ({"away_score": -5}, "away_score"),
        ({"inning": 0}, "inning"),
        ({"half": "middle"}, "half"),
        ({"outs_before": 3}, "outs_before"),
        ({"outs_before": 2, "outs_recorded": 2}, "exceeds 3"),
        ({"hit": -1}, "hit"),
        ({"play_number": 0}, "play_number"),
        ({"result_description": "nul\x00byte"}, "result_description"),
        ({"unknown_column": 1}, "unknown_column"),
        ({"game_id": "not-a-uuid"}, "game_id"),
    ],
)
async def test_bad_play_values(db: Database, changes: dict[str, Any], problem: str) -> None:
    game = await set_up_game(db)
    before = await table_counts(db)
    with pytest.raises(InvalidInput, match=problem):
        await db.save_play(play_dict(game, 1, **changes))
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"home_score": -1}, "home_score"),
        ({"inning": 0}, "inning"),
        ({"half": "middle"}, "half"),
        ({"status": "paused"}, "status"),
    ],
)
async def test_bad_state_values(db: Database, changes: dict[str, Any], error: str) -> None:
    game = await set_up_game(db)
    kwargs: dict[str, Any] = {
        "game_id": game.game_id,
        "inning": 1,
        "half": "top",
        "home_score": 0,
        "away_score": 0,
        **changes,
    }
    with pytest.raises(InvalidInput, match=error):
        await db.update_game_state(**kwargs)
    stored = await db.get_game(game.game_id)
    assert stored is not None and stored.state_version == 0


async def test_bad_game_values(db: Database) -> None:
    gid = uuid.uuid4()
    cases: list[dict[str, Any]] = [
        {"league_id": "mlb", "home_team_id": 1, "away_team_id": 2},
        {"league_id": "sba", "home_team_id": 1, "away_team_id": 1},
        {"league_id": "sba", "home_team_id": -1, "away_team_id": 2},
        {"league_id": "sba", "home_team_id": 1, "away_team_id": 2, "game_mode": "hardcore"},
    ]
    for kwargs in cases:
        with pytest.raises(InvalidInput):
            await db.create_game(game_id=gid, **kwargs)
    assert await db.get_game(gid) is None


async def test_lineup_team_must_play_in_the_game(db: Database) -> None:
    game = await set_up_game(db)
    with pytest.raises(InvalidInput, match="team 7"):
        await db.add_sba_lineup_player(game_id=game.game_id, team_id=7, player_id=1, position="P")
    with pytest.raises(InvalidInput, match="batting_order"):
        await db.add_sba_lineup_player(
            game_id=game.game_id, team_id=1, player_id=1, position="P", batting_order=10
        )


async def test_player_enters_a_lineup_once(db: Database) -> None:
    game = await set_up_game(db)
    entry = game.home[0]
    again = await db.add_sba_lineup_player(
        game_id=game.game_id,
        team_id=HOME,
        player_id=entry.player_id or 0,
        position=entry.position,
        batting_order=entry.batting_order,
    )
    assert again == entry, "a re-sent add returns the stored entry"
    with pytest.raises(ConstraintViolation):
        await db.add_sba_lineup_player(
            game_id=game.game_id, team_id=HOME, player_id=entry.player_id or 0, position="P"
        )


async def test_substituting_an_inactive_entry_is_refused(db: Database) -> None:
    game: SetUpGame = await set_up_game(db)
    await db.add_substitution(
        game_id=game.game_id,
        replacing_id=game.home[0].id,
        after_play=0,
        position="C",
        player_id=1500,
    )
    with pytest.raises(ConstraintViolation):
        await db.add_substitution(
            game_id=game.game_id,
            replacing_id=game.home[0].id,
            after_play=0,
            position="C",
            player_id=1501,
        )
    with pytest.raises(InvalidInput, match="lineup entry 999999"):
        await db.add_substitution(
            game_id=game.game_id, replacing_id=999999, after_play=0, position="C", player_id=1502
        )
