-- migrate:up
-- delete_plays_after() is distributed with force_delegation: inside a transaction too, the
-- coordinator then sends the call itself, over the transaction's connection to the game's
-- node, where the function deletes as its owner. Without it the coordinator runs the
-- function and sends its DELETE over a second connection as the owner, and Citus refuses the
-- application role's next statement on those shards in that transaction (25001, "placements
-- that were modified in this transaction by a different user"): rollback_to_play failed as
-- the application role. `gamedb distribute` re-distributes the function of a database
-- distributed before.
CREATE OR REPLACE FUNCTION gamedb_distribute() RETURNS SETOF text
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
            AND distribution_argument_index IS NOT NULL AND force_delegation
    ) THEN
        PERFORM create_distributed_function(
            'delete_plays_after(uuid, integer)', 'target_game', colocate_with => 'games',
            force_delegation => true
        );
        RETURN NEXT 'delete_plays_after(uuid, integer)';
    END IF;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION gamedb_distribute() RETURNS SETOF text
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
