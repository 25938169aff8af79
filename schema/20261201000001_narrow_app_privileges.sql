-- migrate:up
-- The application role may write only what gamedb's operations write: it cannot rewrite a
-- game's history. Plays, rolls and roster links are never updated; lineups only go active
-- or inactive; a game's identity and teams never change, and its state_version only ever
-- advances by one per update (optimistic concurrency depends on it). Refusals are SQLSTATE
-- 42501, by privilege where PostgreSQL can say it, by trigger where it cannot: a row lock
-- (FOR KEY SHARE, which InsertPlay takes on the previous play) needs an UPDATE privilege on
-- some column, so plays keep one and a trigger refuses every update of them. The owner of
-- the tables (the migrating role) and superusers keep every right, for repairs.

-- Grants the application's privileges to a role; run here when gamedb_app exists, and by
-- `gamedb create-role` (gamedb.migrate.create_app_role) after it creates one.
CREATE FUNCTION gamedb_grant_app_privileges(app_role name) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    EXECUTE format(
        'REVOKE ALL ON games, lineups, plays, roster_links, rolls, game_sessions FROM %I',
        app_role
    );
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app_role);
    EXECUTE format(
        'GRANT SELECT, INSERT ON games, lineups, plays, roster_links, rolls, game_sessions TO %I',
        app_role
    );
    EXECUTE format(
        'GRANT UPDATE (current_inning, current_half, outs, home_score, away_score, status, '
        'completed_at, state_version, updated_at) ON games TO %I',
        app_role
    );
    EXECUTE format('GRANT UPDATE (is_active) ON lineups TO %I', app_role);
    EXECUTE format('GRANT UPDATE (complete) ON plays TO %I', app_role);
    EXECUTE format(
        'GRANT UPDATE (game_id, state_snapshot, last_action_at, updated_at) ON game_sessions '
        'TO %I',
        app_role
    );
    EXECUTE format('GRANT DELETE ON games, lineups, roster_links, rolls TO %I', app_role);
    EXECUTE format(
        'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO %I',
        app_role
    );
    EXECUTE format(
        'GRANT EXECUTE ON FUNCTION delete_plays_after(uuid, integer) TO %I', app_role
    );
END
$$;
REVOKE ALL ON FUNCTION gamedb_grant_app_privileges(name) FROM PUBLIC;

-- Creates the role (NOLOGIN) unless it exists, then grants it the application's privileges:
-- what `gamedb create-role` runs, as a role allowed to create roles. Safe from several
-- databases of one server at once: the loser of a race finds the role made meanwhile.
CREATE FUNCTION gamedb_create_app_role(app_role name) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app_role) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', app_role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    PERFORM gamedb_grant_app_privileges(app_role);
END
$$;
REVOKE ALL ON FUNCTION gamedb_create_app_role(name) FROM PUBLIC;

CREATE FUNCTION gamedb_refuse_history_rewrite() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_has_role(
        current_user, (SELECT c.relowner FROM pg_class AS c WHERE c.oid = TG_RELID), 'USAGE'
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'permission denied for table %: %', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER plays_never_change BEFORE UPDATE ON plays
    FOR EACH ROW EXECUTE FUNCTION gamedb_refuse_history_rewrite('plays are never updated');

CREATE TRIGGER games_version_advances BEFORE UPDATE ON games
    FOR EACH ROW WHEN (NEW.state_version IS DISTINCT FROM OLD.state_version + 1)
    EXECUTE FUNCTION gamedb_refuse_history_rewrite('state_version only advances by one');

-- A roll belongs to a stored play or to the next one (or to none): plays are numbered without
-- gaps, so a roll written while a rollback runs, for a play the rollback removed, cannot
-- survive it. Checked once per statement, after the rolls' foreign keys have share-locked
-- their games: a rollback (which locks the game first) has either finished, and this check
-- reads what it left (each statement of a function sees the latest commits), or waits for
-- this transaction. Raised as a foreign key violation whose detail names game, play and last
-- play, which gamedb turns into PlayNotFound.
CREATE FUNCTION gamedb_check_roll_plays() RETURNS trigger
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

CREATE TRIGGER rolls_play_stored AFTER INSERT ON rolls
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION gamedb_check_roll_plays();

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamedb_app') THEN
        PERFORM gamedb_grant_app_privileges('gamedb_app');
    END IF;
END
$$;

-- migrate:down
DROP TRIGGER rolls_play_stored ON rolls;
DROP FUNCTION gamedb_check_roll_plays();
DROP TRIGGER games_version_advances ON games;
DROP TRIGGER plays_never_change ON plays;
DROP FUNCTION gamedb_refuse_history_rewrite();
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamedb_app') THEN
        GRANT UPDATE ON games, lineups, plays, roster_links, rolls, game_sessions TO gamedb_app;
    END IF;
END
$$;
DROP FUNCTION gamedb_create_app_role(name);
DROP FUNCTION gamedb_grant_app_privileges(name);
