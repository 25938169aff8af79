-- name: SaveRollsBatch :execrows
-- Store a batch of rolls in one statement, one array a column, each after the rolls its game
-- already has, in the order given; returns how many it stored. A roll already stored (same
-- game and roll_id) is skipped, so a retried batch never duplicates; when one stored has
-- other content (rolled_at counts when given), or a roll's game is unknown, nothing of the
-- batch is stored. So fewer stored than given means a retry, a clash, an unknown game, or a
-- roll a concurrent writer committed meanwhile (this statement's snapshot does not show
-- it): the caller reads the rolls back to tell which.
-- Every table is read through `game_id = ANY(@game_ids)` and the inserted game_id is the
-- games row's id, so on Citus the statement of one game's rolls runs on that game's shards
-- alone (router). The ordinal follows the game's last one instead of coming from the
-- sequence: a sequence's nextval() would make Citus evaluate the SELECT on the coordinator.
INSERT INTO rolls (
    game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
    rolled_at, ordinal
)
SELECT g.id, r.roll_id, r.roll_type, r.play_number, r.team_id, r.player_id,
       r.roll_data::jsonb, r.context::jsonb, COALESCE(r.rolled_at, now()),
       COALESCE(o.last_ordinal, 0) + r.position
FROM games AS g
JOIN unnest(
    @game_ids::uuid[], @roll_ids::text[], @roll_types::text[], @play_numbers::integer[],
    @team_ids::integer[], @player_ids::integer[], @roll_data::text[], @contexts::text[],
    @rolled_ats::timestamptz[]
) WITH ORDINALITY AS r (
    game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
    rolled_at, position
) ON r.game_id = g.id
LEFT JOIN (
    SELECT s.game_id, max(s.ordinal) AS last_ordinal FROM rolls AS s
    WHERE s.game_id = ANY(@game_ids::uuid[])
    GROUP BY s.game_id
) AS o ON o.game_id = g.id
WHERE g.id = ANY(@game_ids::uuid[])
    -- A roll of an unknown game stores nothing of the batch either.
    AND (SELECT count(*) FROM games AS k WHERE k.id = ANY(@game_ids::uuid[]))
        = (SELECT count(DISTINCT u.game_id) FROM unnest(@game_ids::uuid[]) AS u (game_id))
    AND NOT EXISTS (
        -- 1, not an empty select list: Citus cannot read back a subplan without columns
        -- (the statement of many games' rolls plans this part apart).
        SELECT 1 FROM rolls AS s
        JOIN unnest(
            @game_ids::uuid[], @roll_ids::text[], @roll_types::text[],
            @play_numbers::integer[], @team_ids::integer[], @player_ids::integer[],
            @roll_data::text[], @contexts::text[], @rolled_ats::timestamptz[]
        ) AS c (
            game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
            rolled_at
        ) ON s.game_id = c.game_id AND s.roll_id = c.roll_id
        WHERE s.game_id = ANY(@game_ids::uuid[])
            AND ((s.roll_type, s.play_number, s.team_id, s.player_id, s.roll_data, s.context)
                    IS DISTINCT FROM
                    (c.roll_type, c.play_number, c.team_id, c.player_id, c.roll_data::jsonb,
                     c.context::jsonb)
                OR s.rolled_at <> c.rolled_at)
    )
ON CONFLICT (game_id, roll_id) DO NOTHING;

-- name: GetRollsForGame :many
-- The game's rolls in the order they were handed over.
SELECT * FROM rolls WHERE game_id = @game_id ORDER BY ordinal;

-- name: GetRollsByIds :many
-- The stored rolls among these ids.
SELECT * FROM rolls WHERE game_id = @game_id AND roll_id = ANY(@roll_ids::text[]);

-- name: DeleteRollsAfter :execrows
-- Remove the rolls of plays numbered above @play_number.
DELETE FROM rolls WHERE game_id = @game_id AND play_number > @play_number;
