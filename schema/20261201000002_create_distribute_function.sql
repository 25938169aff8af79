-- Turns the schema into a Citus-distributed one: `gamedb distribute` calls it on the
-- coordinator after `gamedb migrate`. games is distributed by id; every other table that has
-- a game_id column by game_id, co-located with games, so each game's rows share one shard;
-- delete_plays_after() is distributed by its game argument so a call outside a transaction
-- runs on the game's node. Tables and functions already distributed are left alone, so a
-- call after a later migration distributes only what that migration created. Returns what
-- it distributed. On a server without Citus it raises 0A000 and changes nothing.
-- migrate:up
CREATE FUNCTION gamedb_distribute() RETURNS SETOF text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    target regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'this server is not a Citus coordinator: the citus extension is not installed in this database'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- Distributing a function needs every earlier step of the transaction on one connection
    -- per node.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- The history guards (plays never change, a game's version only advances, a roll needs
    -- its play) are triggers; Citus runs them on each shard, where every row of a game is.
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    IF NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'games'::regclass) THEN
        PERFORM create_distributed_table('games', 'id');
        RETURN NEXT 'games';
    END IF;
    FOR target IN
        SELECT c.oid::regclass FROM pg_class AS c
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'game_id' AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
            AND NOT EXISTS (SELECT FROM pg_dist_partition AS d WHERE d.logicalrelid = c.oid)
        ORDER BY c.relname
    LOOP
        PERFORM create_distributed_table(target, 'game_id', colocate_with => 'games');
        RETURN NEXT target::text;
    END LOOP;
    IF to_regprocedure('delete_plays_after(uuid, integer)') IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_dist_object
        WHERE objid = 'delete_plays_after(uuid, integer)'::regprocedure
            AND distribution_argument_index IS NOT NULL
    ) THEN
        PERFORM create_distributed_function(
            'delete_plays_after(uuid, integer)', 'target_game', colocate_with => 'games'
        );
        RETURN NEXT 'delete_plays_after(uuid, integer)';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION gamedb_distribute() FROM PUBLIC;

-- migrate:down
DROP FUNCTION gamedb_distribute();
