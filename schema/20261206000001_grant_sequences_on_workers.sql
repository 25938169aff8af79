-- migrate:up
-- On Citus, the writes delegated to a game's node (gamedb.delegation) take their ids from
-- that node's copy of the identity sequences, which checks USAGE; Citus copies grants only to
-- the sequences it distributes itself, not to those of identity columns. This mirrors the
-- coordinator's USAGE grants on the public sequences to every worker. `gamedb create-role`
-- and `gamedb distribute` run it once their own transaction committed (the workers see a new
-- role or table only then), so whichever comes last grants. Without the citus extension it
-- does nothing.
CREATE FUNCTION gamedb_grant_sequences_on_workers() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    statement text;
    failure text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    FOR statement IN
        SELECT format('GRANT USAGE ON SEQUENCE %s TO %I', c.oid::regclass, r.rolname)
        FROM pg_class AS c
        CROSS JOIN LATERAL aclexplode(c.relacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace
            AND a.privilege_type = 'USAGE' AND a.grantee <> c.relowner
        ORDER BY 1
    LOOP
        SELECT string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ')
        INTO failure
        FROM run_command_on_workers(statement) AS w
        WHERE NOT w.success;
        IF failure IS NOT NULL THEN
            RAISE EXCEPTION '%: %', statement, failure;
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION gamedb_grant_sequences_on_workers() FROM PUBLIC;

-- migrate:down
DROP FUNCTION gamedb_grant_sequences_on_workers();
