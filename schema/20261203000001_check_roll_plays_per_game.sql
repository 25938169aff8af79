-- migrate:up
-- The check that a roll is for a stored play or the next one (rolls_play_stored) reads each
-- game's plays by its own query, `game_id` a value: on Citus, where the trigger runs on the
-- rolls shard, that query is a single-shard one on the co-located plays shard of the same
-- node, which a trigger may run. The one query joining the new rows to every game's plays
-- that it replaces is a multi-shard join Citus refuses there ("cannot push down this
-- subquery"). Same check, same error: a foreign key violation whose detail names game, play
-- and last play, and whose message names the constraint.
CREATE OR REPLACE FUNCTION gamedb_check_roll_plays() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    added_game record;
    last_play integer;
BEGIN
    FOR added_game IN
        SELECT r.game_id, max(r.play_number) AS top
        FROM added AS r WHERE r.play_number > 1 GROUP BY r.game_id
    LOOP
        SELECT COALESCE(max(p.play_number), 0) INTO last_play
        FROM plays AS p WHERE p.game_id = added_game.game_id;
        IF added_game.top > last_play + 1 THEN
            -- The constraint's name is in the message too: Citus relays a worker's error
            -- without its constraint field.
            RAISE EXCEPTION
                'a roll of game % for play % violates constraint "rolls_play_stored": the '
                'game''s last play is %',
                added_game.game_id, added_game.top, last_play
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'rolls_play_stored',
                      TABLE = 'rolls',
                      DETAIL = format('game %s play %s last %s',
                                      added_game.game_id, added_game.top, last_play);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION gamedb_check_roll_plays() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    orphan record;
BEGIN
    SELECT a.game_id, a.top, l.last_play
    INTO orphan
    FROM (
        SELECT r.game_id, max(r.play_number) AS top
        FROM added AS r WHERE r.play_number > 1 GROUP BY r.game_id
    ) AS a
    CROSS JOIN LATERAL (
        SELECT COALESCE(max(p.play_number), 0) AS last_play
        FROM plays AS p WHERE p.game_id = a.game_id
    ) AS l
    WHERE a.top > l.last_play + 1
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a roll of game % is for play %, but the game''s last play is %',
            orphan.game_id, orphan.top, orphan.last_play
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'rolls_play_stored',
                  TABLE = 'rolls',
                  DETAIL = format('game %s play %s last %s',
                                  orphan.game_id, orphan.top, orphan.last_play);
    END IF;
    RETURN NULL;
END
$$;
