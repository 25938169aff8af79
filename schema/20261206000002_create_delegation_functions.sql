-- migrate:up
-- On Citus, gamedb sends the per-game writes that Citus cannot route (an identity id drawn in
-- an INSERT … SELECT) as calls of SQL functions whose bodies are those very statements,
-- distributed by the game and delegated to its node (gamedb.delegation). A function is named
-- after its query and a hash of the statement, so another version of the statement is
-- another function: a gamedb whose statements changed never runs old SQL.

-- gamedb_<query name in snake case>_<10 hex digits of the statement's SHA-256>.
CREATE FUNCTION gamedb_delegated_function(statement text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
SELECT 'gamedb_'
    || lower(regexp_replace(substring(statement FROM '^-- name: (\w+) '), '([a-z0-9])([A-Z])', '\1_\2', 'g'))
    || '_' || left(encode(sha256(convert_to(statement, 'UTF8')), 'hex'), 10)
$$;

-- The call gamedb sends in place of the statement, passing its parameters in order.
CREATE FUNCTION gamedb_delegated_call(statement text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
SELECT format(
    'SELECT * FROM %I(%s)',
    gamedb_delegated_function(statement),
    (SELECT string_agg('$' || n, ', ' ORDER BY n)
     FROM generate_series(
         1, (SELECT max(m[1]::integer) FROM regexp_matches(statement, '\$(\d+)', 'g') AS m)
     ) AS n)
)
$$;

-- Creates the statement's function unless it exists and distributes it by its one uuid
-- parameter (the game), co-located with games, delegated inside transactions too; returns
-- its name when it distributed it now, NULL when that was done before. Run by
-- `gamedb distribute`, which reads the statement's types from the server's own description
-- of it.
CREATE FUNCTION gamedb_delegate(
    statement text, parameter_types oid[], column_names text[], column_types oid[]
) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    function_name text := gamedb_delegated_function(statement);
    signature text := format(
        '%I(%s)', function_name, array_to_string(parameter_types::regtype[]::text[], ', ')
    );
    game_argument integer := array_position(parameter_types, 'uuid'::regtype::oid);
BEGIN
    IF game_argument IS NULL
        OR array_position(parameter_types, 'uuid'::regtype::oid, game_argument + 1) IS NOT NULL
    THEN
        RAISE EXCEPTION '%: a delegated statement takes exactly one uuid, the game''s id',
            function_name;
    END IF;
    IF to_regprocedure(signature) IS NULL THEN
        EXECUTE format(
            'CREATE FUNCTION %s RETURNS TABLE (%s) LANGUAGE sql AS %L',
            signature,
            (SELECT string_agg(format('%I %s', c.name, c.type::regtype), ', ' ORDER BY c.n)
             FROM unnest(column_names, column_types) WITH ORDINALITY AS c (name, type, n)),
            statement
        );
    END IF;
    IF EXISTS (
        SELECT FROM pg_dist_object
        WHERE objid = signature::regprocedure
            AND distribution_argument_index IS NOT NULL AND force_delegation
    ) THEN
        RETURN NULL;
    END IF;
    PERFORM create_distributed_function(
        signature::regprocedure, '$' || game_argument, colocate_with => 'games',
        force_delegation => true
    );
    RETURN function_name;
END
$$;
REVOKE ALL ON FUNCTION gamedb_delegate(text, oid[], text[], oid[]) FROM PUBLIC;

-- migrate:down
DROP FUNCTION gamedb_delegate(text, oid[], text[], oid[]);
DROP FUNCTION gamedb_delegated_call(text);
DROP FUNCTION gamedb_delegated_function(text);
