-- migrate:up
-- The role the engine connects as (directly, or through a login role granted it): data
-- manipulation only. No DDL (since PostgreSQL 15 schema public grants CREATE to its owner
-- alone), no TRUNCATE, and no DELETE on plays: rewinding a game goes through
-- delete_plays_after(), which runs with the privileges of the migrating role that owns it.
-- The role is cluster-wide, so migrating never creates it: `gamedb create-role` (or
-- `gamedb migrate --create-role`) does, on purpose. Until it exists there is nothing to grant.
CREATE FUNCTION delete_plays_after(target_game uuid, last_kept integer) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH removed AS (
        DELETE FROM plays WHERE game_id = target_game AND play_number > last_kept RETURNING 1
    )
    SELECT count(*) FROM removed
$$;
REVOKE ALL ON FUNCTION delete_plays_after(uuid, integer) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamedb_app') THEN
        GRANT USAGE ON SCHEMA public TO gamedb_app;
        GRANT SELECT, INSERT, UPDATE ON games, lineups, plays, roster_links, rolls, game_sessions
            TO gamedb_app;
        GRANT DELETE ON games, lineups, roster_links, rolls TO gamedb_app;
        GRANT USAGE ON SEQUENCE lineups_id_seq, plays_id_seq, roster_links_id_seq TO gamedb_app;
        GRANT EXECUTE ON FUNCTION delete_plays_after(uuid, integer) TO gamedb_app;
    END IF;
END
$$;

-- migrate:down
-- The role is cluster-wide and other databases may use it: only this database's grants go.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamedb_app') THEN
        REVOKE ALL ON games, lineups, plays, roster_links, rolls, game_sessions FROM gamedb_app;
        REVOKE ALL ON SEQUENCE lineups_id_seq, plays_id_seq, roster_links_id_seq FROM gamedb_app;
        REVOKE USAGE ON SCHEMA public FROM gamedb_app;
    END IF;
END
$$;
DROP FUNCTION delete_plays_after(uuid, integer);
