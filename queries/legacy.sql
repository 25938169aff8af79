-- name: GetPlayScore :one
-- The score after play @play_number, or no row: what an old-layer play without a score
-- carries over.
SELECT away_score, home_score FROM plays
WHERE game_id = @game_id AND play_number = @play_number;

-- name: GetRosterEntryGame :one
-- The game of roster link @id, or no row: the old layer's remove_roster_entry(roster_id)
-- names no game, and RemoveRosterEntry is scoped by one.
SELECT game_id FROM roster_links WHERE id = @id;

-- name: ImportGame :one
-- Insert a game brought over from the old layer's tables, with its state and times as they
-- were. No row when a game with this id is already here (imported before, or created since).
INSERT INTO games (
    id, league_id, home_team_id, away_team_id, game_mode, visibility, status, current_inning,
    current_half, outs, home_score, away_score, created_at, completed_at
)
VALUES (
    @id, @league_id, @home_team_id, @away_team_id, @game_mode, @visibility, @status,
    @current_inning, @current_half, @outs, @home_score, @away_score,
    COALESCE(sqlc.narg(created_at), now()), sqlc.narg(completed_at)
)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: AllocateLineupIds :many
-- @count new lineup ids, for rows imported with their substitutions pointing at each other.
SELECT nextval(pg_get_serial_sequence('lineups', 'id'))::bigint AS id
FROM generate_series(1, @count::integer);

-- name: ImportLineups :execrows
-- Insert a game's lineup rows (starters and substitutions), given as one JSON array with the
-- ids AllocateLineupIds handed out; a substitution's replacing_id names a row of the array.
INSERT INTO lineups (
    game_id, id, league_id, team_id, card_id, player_id, position, batting_order, is_starter,
    is_active, replacing_id, after_play
)
SELECT g.id, r.id, g.league_id, r.team_id, r.card_id, r.player_id, r.position,
       r.batting_order, r.is_starter, r.is_active, r.replacing_id, r.after_play
FROM games AS g
CROSS JOIN jsonb_to_recordset(sqlc.arg(lineups)::text::jsonb) AS r (
    id bigint, team_id integer, card_id integer, player_id integer, position text,
    batting_order smallint, is_starter boolean, is_active boolean, replacing_id bigint,
    after_play integer
)
WHERE g.id = @game_id;

-- name: ImportPlays :execrows
-- Insert a game's plays, given as one JSON array (PlayData fields and created_at), in one
-- statement; their lineup ids are the game's imported ones.
INSERT INTO plays (
    game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
    catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description, outcome,
    pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error, wild_pitch,
    passed_ball, away_score, home_score, complete, created_at
)
SELECT
    g.id, p.play_number, p.inning, p.half, p.outs_before, p.outs_recorded, p.batter_id,
    p.pitcher_id, p.catcher_id, p.on_first_id, p.on_second_id, p.on_third_id, p.dice_roll,
    p.result_description, p.outcome, p.pa, p.ab, p.hit, p.double, p.triple, p.homerun, p.bb,
    p.so, p.hbp, p.rbi, p.run, p.sb, p.cs, p.error, p.wild_pitch, p.passed_ball, p.away_score,
    p.home_score, p.complete, COALESCE(p.created_at, now())
FROM games AS g
CROSS JOIN jsonb_to_recordset(sqlc.arg(plays)::text::jsonb) AS p (
    play_number integer, inning integer, half half, outs_before smallint,
    outs_recorded smallint, batter_id bigint, pitcher_id bigint, catcher_id bigint,
    on_first_id bigint, on_second_id bigint, on_third_id bigint, dice_roll text,
    result_description text, outcome text, pa smallint, ab smallint, hit smallint,
    double smallint, triple smallint, homerun smallint, bb smallint, so smallint,
    hbp smallint, rbi smallint, run smallint, sb smallint, cs smallint, error smallint,
    wild_pitch smallint, passed_ball smallint, away_score integer, home_score integer,
    complete boolean, created_at timestamptz
)
WHERE g.id = @game_id;

-- name: ImportRosterLinks :execrows
-- Insert a game's roster links, given as one JSON array.
INSERT INTO roster_links (game_id, league_id, team_id, card_id, player_id)
SELECT g.id, g.league_id, r.team_id, r.card_id, r.player_id
FROM games AS g
CROSS JOIN jsonb_to_recordset(sqlc.arg(links)::text::jsonb) AS r (
    team_id integer, card_id integer, player_id integer
)
WHERE g.id = @game_id;

-- name: ImportSession :execrows
-- Insert a game's session as it was, its last action time included.
INSERT INTO game_sessions (game_id, connected_users, state_snapshot, last_action_at)
VALUES (
    @game_id, @connected_users, sqlc.narg(state_snapshot),
    COALESCE(sqlc.narg(last_action_at), now())
);
