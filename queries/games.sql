-- name: CreateGame :one
-- Create a game. A retry with an existing id inserts nothing and returns no row.
INSERT INTO games (id, league_id, home_team_id, away_team_id, game_mode, visibility)
VALUES (@id, @league_id, @home_team_id, @away_team_id, @game_mode, @visibility)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetGame :one
-- The game row, or no row for an unknown id.
SELECT * FROM games WHERE id = @id;

-- name: GetGameForUpdate :one
-- The game row, locked until the transaction ends, so writers of this game queue behind it.
SELECT * FROM games WHERE id = @id FOR UPDATE;

-- name: UpdateGameState :one
-- Write the game state in one plain UPDATE when it differs from the stored one (and, with
-- expected_version, only over that version): the new state_version, or no row when nothing
-- was written, which UpdateGameStateOrExplain then tells apart (unknown game, unchanged,
-- stale).
UPDATE games SET
    current_inning = @current_inning,
    current_half = @current_half,
    home_score = @home_score,
    away_score = @away_score,
    outs = COALESCE(sqlc.narg(outs), games.outs),
    status = COALESCE(sqlc.narg(status), games.status),
    -- When the game was first completed, while it is (NULL otherwise). Citus refuses now()
    -- inside CASE or COALESCE, so LEAST keeps the earlier time, and the strict
    -- timestamptz_larger() turns it into NULL when the CASE says the game is not completed.
    completed_at = timestamptz_larger(
        LEAST(games.completed_at, now()),
        CASE WHEN COALESCE(sqlc.narg(status), games.status) = 'completed'
            THEN '-infinity'::timestamptz END
    ),
    state_version = games.state_version + 1,
    updated_at = now()
WHERE games.id = @id
    AND (sqlc.narg(expected_version)::bigint IS NULL
         OR games.state_version = sqlc.narg(expected_version)::bigint)
    AND (games.current_inning, games.current_half, games.home_score, games.away_score,
         games.outs, games.status)
        IS DISTINCT FROM
        (@current_inning, @current_half, @home_score, @away_score,
         COALESCE(sqlc.narg(outs), games.outs), COALESCE(sqlc.narg(status), games.status))
RETURNING games.state_version;

-- name: UpdateGameStateOrExplain :one
-- UpdateGameState, run when that wrote nothing, saying why in the same statement that writes
-- (should a concurrent change have made the state differ since). previous_version is NULL
-- for an unknown game; new_version is NULL when nothing was written (values unchanged, or
-- expected_version stale); matches says whether the stored state already equals the one
-- given.
WITH target AS (
    SELECT
        g.state_version,
        (g.current_inning, g.current_half, g.home_score, g.away_score, g.outs, g.status)
            IS NOT DISTINCT FROM
            (@current_inning, @current_half, @home_score, @away_score,
             COALESCE(sqlc.narg(outs), g.outs), COALESCE(sqlc.narg(status), g.status))
            AS matches
    FROM games AS g WHERE g.id = @id
), updated AS (
    UPDATE games SET
        current_inning = @current_inning,
        current_half = @current_half,
        home_score = @home_score,
        away_score = @away_score,
        outs = COALESCE(sqlc.narg(outs), games.outs),
        status = COALESCE(sqlc.narg(status), games.status),
        -- As in UpdateGameState.
        completed_at = timestamptz_larger(
            LEAST(games.completed_at, now()),
            CASE WHEN COALESCE(sqlc.narg(status), games.status) = 'completed'
                THEN '-infinity'::timestamptz END
        ),
        state_version = games.state_version + 1,
        updated_at = now()
    WHERE games.id = @id
        AND (sqlc.narg(expected_version)::bigint IS NULL
             OR games.state_version = sqlc.narg(expected_version)::bigint)
        AND (games.current_inning, games.current_half, games.home_score, games.away_score,
             games.outs, games.status)
            IS DISTINCT FROM
            (@current_inning, @current_half, @home_score, @away_score,
             COALESCE(sqlc.narg(outs), games.outs), COALESCE(sqlc.narg(status), games.status))
    RETURNING games.state_version
)
SELECT
    (SELECT t.state_version FROM target AS t) AS previous_version,
    (SELECT t.matches FROM target AS t) AS matches,
    (SELECT u.state_version FROM updated AS u) AS new_version;

-- name: RollbackToPlay :one
-- Put the game back to a recomputed state (rollback); always bumps the version. With
-- @reopen (plays were removed), a completed game is active again.
UPDATE games SET
    current_inning = @current_inning,
    current_half = @current_half,
    outs = @outs,
    home_score = @home_score,
    away_score = @away_score,
    status = CASE WHEN status = 'completed' AND @reopen::boolean THEN 'active' ELSE status END,
    completed_at = CASE WHEN @reopen::boolean THEN NULL ELSE completed_at END,
    state_version = state_version + 1,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: DeleteGame :execrows
-- Delete a game and, by cascade, every row that belongs to it.
DELETE FROM games WHERE id = @id;

-- name: LoadGameState :many
-- The whole game, read in one statement and so from one snapshot: the game, every lineup
-- entry (replaced ones too, which earlier plays name), every play, the roster, the session
-- and (when asked) the rolls in the order they were handed over. One row a table row, in
-- the column of its table (the others NULL), ordered by part and position in the part; no
-- game row for an unknown game. Whole rows travel in binary, but the rolls, mostly jsonb,
-- which are cheapest to send as one JSON text. Each table is filtered by game_id itself, so
-- that a distributed deployment serves the statement from the game's one shard; the rows are
-- built as ROW(x.*)::table, not x::table, which Citus sends to a worker as the shard's own
-- row type (and UNION then refuses to mix it with the table's).
SELECT
    0 AS part, 0::bigint AS position, ROW(g.*)::games AS game, NULL::lineups AS lineup,
    NULL::plays AS play, NULL::roster_links AS roster_link, NULL::game_sessions AS session,
    NULL::text AS rolls
FROM games AS g WHERE g.id = @game_id
UNION ALL
SELECT
    1, row_number() OVER (ORDER BY l.team_id, l.batting_order NULLS LAST, l.id), NULL,
    ROW(l.*)::lineups, NULL, NULL, NULL, NULL
FROM lineups AS l WHERE l.game_id = @game_id
UNION ALL
SELECT 2, p.play_number, NULL, NULL, ROW(p.*)::plays, NULL, NULL, NULL
FROM plays AS p WHERE p.game_id = @game_id
UNION ALL
SELECT
    3, row_number() OVER (ORDER BY r.team_id, r.id), NULL, NULL, NULL,
    ROW(r.*)::roster_links, NULL, NULL
FROM roster_links AS r WHERE r.game_id = @game_id
UNION ALL
SELECT 4, 0, NULL, NULL, NULL, NULL, ROW(s.*)::game_sessions, NULL
FROM game_sessions AS s WHERE s.game_id = @game_id
UNION ALL
SELECT
    5, 0, NULL, NULL, NULL, NULL, NULL,
    COALESCE((
        SELECT json_agg(ro ORDER BY ro.ordinal) FROM rolls AS ro WHERE ro.game_id = @game_id
    ), '[]')::text
WHERE @include_rolls::boolean
ORDER BY part, position;

-- name: ListGames :many
-- Games across all of them, newest first, each filter applying when given: an operator's
-- read (it spans every game_id, so on a distributed cluster it fans out to every node).
SELECT * FROM games
WHERE (sqlc.narg(status)::game_status IS NULL OR status = sqlc.narg(status)::game_status)
    AND (sqlc.narg(league_id)::league IS NULL OR league_id = sqlc.narg(league_id)::league)
    AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
ORDER BY created_at DESC, id
LIMIT @max_games;
