-- name: SaveRolls :one
-- Store a batch of rolls given as one JSON array, in one statement; returns how many were
-- new. Rolls already stored (same game and roll_id) are skipped, so a retried batch never
-- duplicates. Counted from RETURNING: Citus reports the rows it sent, not those inserted.
WITH inserted AS (
    INSERT INTO rolls (
        game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context, rolled_at
    )
    SELECT r.game_id, r.roll_id, r.roll_type, r.play_number, r.team_id, r.player_id, r.roll_data,
           r.context, COALESCE(r.rolled_at, now())
    FROM jsonb_to_recordset(sqlc.arg(rolls)::text::jsonb) AS r (
        game_id uuid, roll_id text, roll_type text, play_number integer, team_id integer,
        player_id integer, roll_data jsonb, context jsonb, rolled_at timestamptz
    )
    ON CONFLICT (game_id, roll_id) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer AS stored FROM inserted;

-- name: GetRollsForGame :many
-- The game's rolls in the order they were rolled.
SELECT * FROM rolls WHERE game_id = @game_id ORDER BY rolled_at, roll_id;

-- name: GetRollsByIds :many
-- The stored rolls among these ids.
SELECT * FROM rolls WHERE game_id = @game_id AND roll_id = ANY(@roll_ids::text[]);

-- name: DeleteRollsAfter :execrows
-- Remove the rolls of plays numbered above @play_number.
DELETE FROM rolls WHERE game_id = @game_id AND play_number > @play_number;
