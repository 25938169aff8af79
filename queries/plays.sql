-- name: SavePlay :one
-- Insert a play. No row when the game is unknown (checked here, not left to the foreign
-- keys: which of them fails first differs on Citus), when the game already has a play with
-- this number (a retry, or a conflict the caller tells apart by reading the stored play), or
-- when the play before it is missing: plays are numbered without gaps, so a write racing
-- rollback_to_play cannot leave a play after the rollback point. The game row is
-- share-locked first, so the check waits for a rollback in progress; the previous play is
-- then locked too, so one that rollback deleted meanwhile counts as missing (READ COMMITTED
-- skips deleted rows it locks).
WITH game AS (
    SELECT g.id FROM games AS g WHERE g.id = @game_id FOR KEY SHARE
), previous AS (
    SELECT p.play_number FROM plays AS p
    WHERE p.game_id = @game_id
        AND p.play_number = sqlc.arg(play_number)::integer - 1
        AND EXISTS (SELECT 1 FROM game)
    FOR KEY SHARE
)
INSERT INTO plays (
    game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
    catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description, outcome,
    pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error, wild_pitch,
    passed_ball, away_score, home_score, complete
)
SELECT
    @game_id, @play_number, @inning, @half, @outs_before, @outs_recorded, @batter_id,
    @pitcher_id, sqlc.narg(catcher_id), sqlc.narg(on_first_id), sqlc.narg(on_second_id),
    sqlc.narg(on_third_id), sqlc.narg(dice_roll), sqlc.narg(result_description),
    sqlc.narg(outcome), @pa, @ab, @hit, @double, @triple, @homerun, @bb, @so, @hbp, @rbi, @run,
    @sb, @cs, @error, @wild_pitch, @passed_ball, @away_score, @home_score, @complete
WHERE (@play_number = 1 OR EXISTS (SELECT 1 FROM previous)) AND EXISTS (SELECT 1 FROM game)
ON CONFLICT (game_id, play_number) DO NOTHING
RETURNING id;

-- name: RecordPlay :one
-- Insert a play and write the game state after it, in one statement and one transaction.
-- Nothing is written unless the game exists (and is at expected_version, when given) and the
-- play number is free: play_id is then NULL, and game_matched tells the two cases apart.
-- Nor is anything written when the play before it is missing (plays are numbered without
-- gaps; see SavePlay for why the previous play is locked after the game row).
WITH game AS (
    SELECT g.id FROM games AS g
    WHERE g.id = @game_id
        AND (sqlc.narg(expected_version)::bigint IS NULL
             OR g.state_version = sqlc.narg(expected_version)::bigint)
    FOR UPDATE
), previous AS (
    SELECT p.play_number FROM plays AS p
    WHERE p.game_id = @game_id
        AND p.play_number = sqlc.arg(play_number)::integer - 1
        AND EXISTS (SELECT 1 FROM game)
    FOR KEY SHARE
), inserted AS (
    INSERT INTO plays (
        game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
        catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description,
        outcome, pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error,
        wild_pitch, passed_ball, away_score, home_score, complete
    )
    SELECT
        @game_id, @play_number, @inning, @half, @outs_before, @outs_recorded, @batter_id,
        @pitcher_id, sqlc.narg(catcher_id), sqlc.narg(on_first_id), sqlc.narg(on_second_id),
        sqlc.narg(on_third_id), sqlc.narg(dice_roll), sqlc.narg(result_description),
        sqlc.narg(outcome), @pa, @ab, @hit, @double, @triple, @homerun, @bb, @so, @hbp, @rbi,
        @run, @sb, @cs, @error, @wild_pitch, @passed_ball, @away_score, @home_score, @complete
    FROM game
    WHERE @play_number = 1 OR EXISTS (SELECT 1 FROM previous)
    ON CONFLICT (game_id, play_number) DO NOTHING
    RETURNING plays.id
), updated AS (
    UPDATE games SET
        current_inning = @current_inning,
        current_half = @current_half,
        outs = @outs,
        home_score = sqlc.arg(state_home_score),
        away_score = sqlc.arg(state_away_score),
        status = CASE WHEN games.status = 'pending' THEN 'active' ELSE games.status END,
        state_version = games.state_version + 1,
        updated_at = now()
    WHERE games.id = @game_id AND EXISTS (SELECT 1 FROM inserted)
    RETURNING games.state_version
)
SELECT
    EXISTS (SELECT 1 FROM game) AS game_matched,
    (SELECT i.id FROM inserted AS i) AS play_id,
    (SELECT u.state_version FROM updated AS u) AS new_version;

-- name: GetPlay :one
-- One play by its number.
SELECT * FROM plays WHERE game_id = @game_id AND play_number = @play_number;

-- name: GetPlays :many
-- Every play of a game in order.
SELECT * FROM plays WHERE game_id = @game_id ORDER BY play_number;

-- name: GetLastPlayNumber :one
-- The number of the game's last play, 0 when it has none.
SELECT COALESCE(max(play_number), 0)::integer AS last_play_number
FROM plays WHERE game_id = @game_id;

-- name: DeletePlaysAfter :one
-- Remove every play numbered above @play_number; returns how many. Runs through the
-- delete_plays_after() function: the application role may not DELETE from plays itself.
-- The call is the whole select list, uncast: Citus sends only such a call on to the game's
-- node (see `gamedb distribute`).
SELECT delete_plays_after(@game_id, @play_number) AS removed;

-- name: RecordPlaysBatch :many
-- Store plays of any number of games and write game states of any number of games, given as
-- two JSON arrays (PlayData fields; game_id, inning, half, home_score, away_score, outs and
-- status, the last two null to keep the stored ones), in one statement. Each game's plays
-- must be numbered consecutively; like SavePlay, none of a game's plays is stored unless
-- the play before its first is (or that is play 1), with the game row share-locked first so
-- a rollback in progress is waited for. Numbers a game already has are skipped and return no
-- row: the caller reads them to tell a retry (the same play) from a conflict. A state is
-- written as UpdateGameState writes it: only when it changes something. Returns a row per
-- stored play (play_number set) and a row per existing game given a state (state_version).
WITH incoming AS (
    SELECT
        r.game_id, r.play_number, r.inning, r.half, r.outs_before, r.outs_recorded,
        r.batter_id, r.pitcher_id, r.catcher_id, r.on_first_id, r.on_second_id, r.on_third_id,
        r.dice_roll, r.result_description, r.outcome, r.pa, r.ab, r.hit, r.double, r.triple,
        r.homerun, r.bb, r.so, r.hbp, r.rbi, r.run, r.sb, r.cs, r.error, r.wild_pitch,
        r.passed_ball, r.away_score, r.home_score, r.complete
    FROM jsonb_to_recordset(sqlc.arg(plays)::text::jsonb) AS r (
        game_id uuid, play_number integer, inning integer, half half, outs_before smallint,
        outs_recorded smallint, batter_id bigint, pitcher_id bigint, catcher_id bigint,
        on_first_id bigint, on_second_id bigint, on_third_id bigint, dice_roll text,
        result_description text, outcome text, pa smallint, ab smallint, hit smallint,
        double smallint, triple smallint, homerun smallint, bb smallint, so smallint,
        hbp smallint, rbi smallint, run smallint, sb smallint, cs smallint, error smallint,
        wild_pitch smallint, passed_ball smallint, away_score integer, home_score integer,
        complete boolean
    )
), firsts AS (
    SELECT i.game_id, min(i.play_number) AS first_number FROM incoming AS i GROUP BY i.game_id
), game AS (
    SELECT g.id FROM games AS g WHERE g.id IN (SELECT f.game_id FROM firsts AS f) FOR KEY SHARE
), previous AS (
    -- One index probe per game (a join would scan every game's plays).
    SELECT pr.game_id FROM firsts AS f
    CROSS JOIN LATERAL (
        SELECT p.game_id FROM plays AS p
        WHERE p.game_id = f.game_id
            AND p.play_number = f.first_number - 1
            AND f.game_id IN (SELECT gm.id FROM game AS gm)
        FOR KEY SHARE
    ) AS pr
), inserted AS (
    INSERT INTO plays (
        game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
        catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description,
        outcome, pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error,
        wild_pitch, passed_ball, away_score, home_score, complete
    )
    SELECT
        p.game_id, p.play_number, p.inning, p.half, p.outs_before, p.outs_recorded,
        p.batter_id, p.pitcher_id, p.catcher_id, p.on_first_id, p.on_second_id, p.on_third_id,
        p.dice_roll, p.result_description, p.outcome, p.pa, p.ab, p.hit, p.double, p.triple,
        p.homerun, p.bb, p.so, p.hbp, p.rbi, p.run, p.sb, p.cs, p.error, p.wild_pitch,
        p.passed_ball, p.away_score, p.home_score, p.complete
    FROM incoming AS p
    JOIN firsts AS f ON f.game_id = p.game_id
    WHERE f.first_number = 1 OR p.game_id IN (SELECT pv.game_id FROM previous AS pv)
    ON CONFLICT (game_id, play_number) DO NOTHING
    RETURNING plays.game_id, plays.play_number, plays.id
), changes AS (
    SELECT c.game_id, c.inning, c.half, c.home_score, c.away_score, c.outs, c.status
    FROM jsonb_to_recordset(sqlc.arg(states)::text::jsonb) AS c (
        game_id uuid, inning integer, half half, home_score integer, away_score integer,
        outs smallint, status game_status
    )
), target AS (
    SELECT g.id, g.state_version FROM games AS g
    WHERE g.id IN (SELECT ch.game_id FROM changes AS ch)
), updated AS (
    UPDATE games SET
        current_inning = c.inning,
        current_half = c.half,
        home_score = c.home_score,
        away_score = c.away_score,
        outs = COALESCE(c.outs, games.outs),
        status = COALESCE(c.status, games.status),
        -- As in UpdateGameState (games.sql).
        completed_at = timestamptz_larger(
            LEAST(games.completed_at, now()),
            CASE WHEN COALESCE(c.status, games.status) = 'completed'
                THEN '-infinity'::timestamptz END
        ),
        state_version = games.state_version + 1,
        updated_at = now()
    FROM changes AS c
    WHERE games.id = c.game_id
        AND (games.current_inning, games.current_half, games.home_score, games.away_score,
             games.outs, games.status)
            IS DISTINCT FROM
            (c.inning, c.half, c.home_score, c.away_score,
             COALESCE(c.outs, games.outs), COALESCE(c.status, games.status))
    RETURNING games.id, games.state_version
)
SELECT i.game_id, i.play_number, i.id AS play_id, NULL::bigint AS state_version
FROM inserted AS i
UNION ALL
SELECT t.id, NULL::integer, NULL::bigint, COALESCE(u.state_version, t.state_version)
FROM target AS t
LEFT JOIN updated AS u ON u.id = t.id;

-- name: SaveGamePlays :many
-- SavePlay for consecutive plays of one game, given as a JSON array (PlayData fields), in one
-- statement: none is stored unless the play before the first is (or that is play 1), the
-- game row share-locked first and that play locked too, as SavePlay does. Numbers the game
-- already has are skipped and return no row. Every table is read by the game's id, given
-- once, so on Citus a function of this statement runs on the game's node alone (see
-- gamedb.delegation), where RecordPlaysBatch, which reads its games from the JSON, cannot.
WITH game AS (
    SELECT g.id FROM games AS g WHERE g.id = @game_id FOR KEY SHARE
), incoming AS (
    SELECT
        r.play_number, r.inning, r.half, r.outs_before, r.outs_recorded, r.batter_id,
        r.pitcher_id, r.catcher_id, r.on_first_id, r.on_second_id, r.on_third_id, r.dice_roll,
        r.result_description, r.outcome, r.pa, r.ab, r.hit, r.double, r.triple, r.homerun,
        r.bb, r.so, r.hbp, r.rbi, r.run, r.sb, r.cs, r.error, r.wild_pitch, r.passed_ball,
        r.away_score, r.home_score, r.complete
    FROM jsonb_to_recordset(sqlc.arg(plays)::text::jsonb) AS r (
        play_number integer, inning integer, half half, outs_before smallint,
        outs_recorded smallint, batter_id bigint, pitcher_id bigint, catcher_id bigint,
        on_first_id bigint, on_second_id bigint, on_third_id bigint, dice_roll text,
        result_description text, outcome text, pa smallint, ab smallint, hit smallint,
        double smallint, triple smallint, homerun smallint, bb smallint, so smallint,
        hbp smallint, rbi smallint, run smallint, sb smallint, cs smallint, error smallint,
        wild_pitch smallint, passed_ball smallint, away_score integer, home_score integer,
        complete boolean
    )
), first AS (
    SELECT min(i.play_number) AS play_number FROM incoming AS i
), previous AS (
    SELECT p.play_number FROM plays AS p
    WHERE p.game_id = @game_id
        AND p.play_number = (SELECT f.play_number FROM first AS f) - 1
        AND EXISTS (SELECT 1 FROM game)
    FOR KEY SHARE
)
INSERT INTO plays (
    game_id, play_number, inning, half, outs_before, outs_recorded, batter_id, pitcher_id,
    catcher_id, on_first_id, on_second_id, on_third_id, dice_roll, result_description,
    outcome, pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error,
    wild_pitch, passed_ball, away_score, home_score, complete
)
SELECT
    @game_id, i.play_number, i.inning, i.half, i.outs_before, i.outs_recorded, i.batter_id,
    i.pitcher_id, i.catcher_id, i.on_first_id, i.on_second_id, i.on_third_id, i.dice_roll,
    i.result_description, i.outcome, i.pa, i.ab, i.hit, i.double, i.triple, i.homerun, i.bb,
    i.so, i.hbp, i.rbi, i.run, i.sb, i.cs, i.error, i.wild_pitch, i.passed_ball,
    i.away_score, i.home_score, i.complete
FROM incoming AS i
WHERE EXISTS (SELECT 1 FROM game)
    AND ((SELECT f.play_number FROM first AS f) = 1 OR EXISTS (SELECT 1 FROM previous))
ON CONFLICT (game_id, play_number) DO NOTHING
RETURNING plays.play_number, plays.id;

-- name: GetPlaysByNumbers :many
-- The game's stored plays among these numbers, in order.
SELECT * FROM plays
WHERE game_id = @game_id AND play_number = ANY(@play_numbers::integer[])
ORDER BY play_number;
