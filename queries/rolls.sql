-- name: SaveRollsBatch :execrows
-- Store a batch of rolls (of any games) in one statement, one array a column, each after the
-- rolls its game already has, in the order given; returns how many it stored. A roll
-- already stored (same game and roll_id) is skipped, so a retried batch never duplicates;
-- when one stored has other content (rolled_at counts when given), or a roll's game is
-- unknown, nothing of the batch is stored. So fewer stored than given means a retry, a
-- clash, an unknown game, or a roll a concurrent writer committed meanwhile (this
-- statement's snapshot does not show it): the caller reads the rolls back to tell which.
-- games holds the batch's games, each once. The ordinal follows the game's last one instead
-- of coming from the sequence, as in SaveGameRolls. On Citus gamedb sends SaveGameRolls a
-- game instead: Citus refuses this statement's probes across shards (a LIMIT in a lateral
-- subquery over the batch's arrays), which a join of the batch to the games' rolls would
-- avoid at the price of reading every roll of those games here.
WITH game AS MATERIALIZED (
    -- One index probe a game for its last ordinal, made before the first roll is inserted
    -- (probing while inserting would step over the new, not yet visible, rolls every time).
    SELECT g.id, COALESCE(o.last_ordinal, 0) AS last_ordinal
    FROM games AS g
    LEFT JOIN LATERAL (
        SELECT s.ordinal AS last_ordinal FROM rolls AS s
        WHERE s.game_id = ANY(@games::uuid[]) AND s.game_id = g.id
        ORDER BY s.ordinal DESC
        LIMIT 1
    ) AS o ON true
    WHERE g.id = ANY(@games::uuid[])
)
INSERT INTO rolls (
    game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
    rolled_at, ordinal
)
SELECT g.id, r.roll_id, r.roll_type, r.play_number, r.team_id, r.player_id,
       r.roll_data::jsonb, r.context::jsonb, COALESCE(r.rolled_at, now()),
       g.last_ordinal + r.position
FROM game AS g
JOIN unnest(
    @game_ids::uuid[], @roll_ids::text[], @roll_types::text[], @play_numbers::integer[],
    @team_ids::integer[], @player_ids::integer[], @roll_data::text[], @contexts::text[],
    @rolled_ats::timestamptz[]
) WITH ORDINALITY AS r (
    game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
    rolled_at, position
) ON r.game_id = g.id
WHERE (SELECT count(*) FROM game) = cardinality(@games::uuid[])
    -- One primary key probe a roll for a clash (LIMIT 1 keeps the planner from joining the
    -- batch to every roll of its games).
    AND NOT EXISTS (
        SELECT 1
        FROM unnest(
            @game_ids::uuid[], @roll_ids::text[], @roll_types::text[],
            @play_numbers::integer[], @team_ids::integer[], @player_ids::integer[],
            @roll_data::text[], @contexts::text[], @rolled_ats::timestamptz[]
        ) AS c (
            game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
            rolled_at
        )
        CROSS JOIN LATERAL (
            SELECT 1 FROM rolls AS s
            WHERE s.game_id = c.game_id
                AND s.roll_id = c.roll_id
                AND ((s.roll_type, s.play_number, s.team_id, s.player_id, s.roll_data,
                      s.context)
                        IS DISTINCT FROM
                        (c.roll_type, c.play_number, c.team_id, c.player_id,
                         c.roll_data::jsonb, c.context::jsonb)
                    OR s.rolled_at <> c.rolled_at)
            LIMIT 1
        ) AS clash
    )
ON CONFLICT (game_id, roll_id) DO NOTHING;

-- name: SaveGameRolls :execrows
-- SaveRollsBatch for the rolls of one game, every table read by @game_id: on Citus a
-- single-shard statement on the game's node. Citus sends an INSERT ... SELECT to the shard
-- only when the inserted game_id is a table's (here the games row's) and nothing in it is
-- volatile: so the ordinal follows the game's last one instead of coming from the sequence's
-- nextval(), and there is no common table expression.
INSERT INTO rolls (
    game_id, roll_id, roll_type, play_number, team_id, player_id, roll_data, context,
    rolled_at, ordinal
)
SELECT g.id, r.roll_id, r.roll_type, r.play_number, r.team_id, r.player_id,
       r.roll_data::jsonb, r.context::jsonb, COALESCE(r.rolled_at, now()),
       COALESCE(o.last_ordinal, 0) + r.position
FROM games AS g
-- max() over the index is computed once, before the first roll is inserted.
CROSS JOIN (
    SELECT max(s.ordinal) AS last_ordinal FROM rolls AS s WHERE s.game_id = @game_id
) AS o
CROSS JOIN unnest(
    @roll_ids::text[], @roll_types::text[], @play_numbers::integer[], @team_ids::integer[],
    @player_ids::integer[], @roll_data::text[], @contexts::text[], @rolled_ats::timestamptz[]
) WITH ORDINALITY AS r (
    roll_id, roll_type, play_number, team_id, player_id, roll_data, context, rolled_at,
    position
)
WHERE g.id = @game_id
    -- One primary key probe a roll for a clash (LIMIT 1 keeps the planner from joining the
    -- batch to every roll of the game).
    AND NOT EXISTS (
        SELECT 1
        FROM unnest(
            @roll_ids::text[], @roll_types::text[], @play_numbers::integer[],
            @team_ids::integer[], @player_ids::integer[], @roll_data::text[],
            @contexts::text[], @rolled_ats::timestamptz[]
        ) AS c (
            roll_id, roll_type, play_number, team_id, player_id, roll_data, context, rolled_at
        )
        CROSS JOIN LATERAL (
            SELECT 1 FROM rolls AS s
            WHERE s.game_id = @game_id
                AND s.roll_id = c.roll_id
                AND ((s.roll_type, s.play_number, s.team_id, s.player_id, s.roll_data,
                      s.context)
                        IS DISTINCT FROM
                        (c.roll_type, c.play_number, c.team_id, c.player_id,
                         c.roll_data::jsonb, c.context::jsonb)
                    OR s.rolled_at <> c.rolled_at)
            LIMIT 1
        ) AS clash
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
