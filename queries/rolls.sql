-- name: SaveRollsBatch :one
-- Store a batch of rolls, one array a column, in one statement and in the order given.
-- A roll already stored (same game and roll_id) with the same content is skipped, so a
-- retried batch never duplicates; one stored with other content (rolled_at counts when
-- given) stores nothing of the batch and is named in clashing, by its position in the batch
-- (from 1). inserted + stored falls short of the batch only when a concurrent writer
-- committed one of its rolls meanwhile (this statement's snapshot does not show it): the
-- caller compares those itself.
WITH given AS (
    SELECT *
    FROM unnest(
        @game_ids::uuid[], @roll_ids::text[], @roll_types::text[], @play_numbers::integer[],
        @team_ids::integer[], @player_ids::integer[], @roll_data::text[], @contexts::text[],
        @rolled_ats::timestamptz[]
    ) WITH ORDINALITY AS g (
        game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
        rolled_at, position
    )
), stored AS (
    -- One primary key lookup a roll (LIMIT 1 keeps the planner from scanning every roll
    -- of the table to join them, as it would for a batch it guesses large).
    SELECT g.position, s.differs
    FROM given AS g
    CROSS JOIN LATERAL (
        SELECT
            (s.roll_type, s.play_number, s.team_id, s.player_id, s.roll_data, s.context)
                IS DISTINCT FROM
                (g.roll_type, g.play_number, g.team_id, g.player_id, g.roll_data::jsonb,
                 g.context::jsonb)
            OR s.rolled_at <> g.rolled_at AS differs
        FROM rolls AS s
        WHERE s.game_id = g.game_id AND s.roll_id = g.roll_id
        LIMIT 1
    ) AS s
), inserted AS (
    INSERT INTO rolls (
        game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
        rolled_at
    )
    SELECT g.game_id, g.roll_id, g.roll_type, g.play_number, g.team_id, g.player_id,
           g.roll_data::jsonb, g.context::jsonb, COALESCE(g.rolled_at, now())
    FROM given AS g
    WHERE NOT EXISTS (SELECT FROM stored AS s WHERE s.differs)
    ORDER BY g.position
    ON CONFLICT (game_id, roll_id) DO NOTHING
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM inserted) AS inserted,
    (SELECT count(*) FROM stored) AS stored,
    ARRAY(
        SELECT s.position::integer FROM stored AS s WHERE s.differs ORDER BY s.position
    ) AS clashing;

-- name: GetRollsForGame :many
-- The game's rolls in the order they were handed over.
SELECT * FROM rolls WHERE game_id = @game_id ORDER BY ordinal;

-- name: GetRollsByIds :many
-- The stored rolls among these ids.
SELECT * FROM rolls WHERE game_id = @game_id AND roll_id = ANY(@roll_ids::text[]);

-- name: DeleteRollsAfter :execrows
-- Remove the rolls of plays numbered above @play_number.
DELETE FROM rolls WHERE game_id = @game_id AND play_number > @play_number;
