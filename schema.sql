--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: game_mode; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.game_mode AS ENUM (
    'friendly',
    'ranked',
    'practice'
);


--
-- Name: game_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.game_status AS ENUM (
    'pending',
    'active',
    'completed',
    'abandoned'
);


--
-- Name: game_visibility; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.game_visibility AS ENUM (
    'public',
    'private'
);


--
-- Name: half; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.half AS ENUM (
    'top',
    'bottom'
);


--
-- Name: league; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.league AS ENUM (
    'sba',
    'pd'
);


--
-- Name: delete_plays_after(uuid, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.delete_plays_after(target_game uuid, last_kept integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH removed AS (
        DELETE FROM plays WHERE game_id = target_game AND play_number > last_kept RETURNING 1
    )
    SELECT count(*) FROM removed
$$;


--
-- Name: gamedb_check_roll_plays(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_check_roll_plays() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: gamedb_create_app_role(name); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_create_app_role(app_role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: gamedb_delegate(text, oid[], text[], oid[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_delegate(statement text, parameter_types oid[], column_names text[], column_types oid[]) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $_$
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
$_$;


--
-- Name: gamedb_delegated_call(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_delegated_call(statement text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $_$
SELECT format(
    'SELECT * FROM %I(%s)',
    gamedb_delegated_function(statement),
    (SELECT string_agg('$' || n, ', ' ORDER BY n)
     FROM generate_series(
         1, (SELECT max(m[1]::integer) FROM regexp_matches(statement, '\$(\d+)', 'g') AS m)
     ) AS n)
)
$_$;


--
-- Name: gamedb_delegated_function(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_delegated_function(statement text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$
SELECT 'gamedb_'
    || lower(regexp_replace(substring(statement FROM '^-- name: (\w+) '), '([a-z0-9])([A-Z])', '\1_\2', 'g'))
    || '_' || left(encode(sha256(convert_to(statement, 'UTF8')), 'hex'), 10)
$$;


--
-- Name: gamedb_distribute(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_distribute() RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: gamedb_grant_app_privileges(name); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_grant_app_privileges(app_role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: gamedb_grant_sequences_on_workers(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_grant_sequences_on_workers() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: gamedb_refuse_history_rewrite(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gamedb_refuse_history_rewrite() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: game_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.game_sessions (
    game_id uuid NOT NULL,
    connected_users jsonb DEFAULT '{}'::jsonb NOT NULL,
    state_snapshot jsonb,
    last_action_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: games; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.games (
    id uuid NOT NULL,
    league_id public.league NOT NULL,
    home_team_id integer NOT NULL,
    away_team_id integer NOT NULL,
    game_mode public.game_mode DEFAULT 'friendly'::public.game_mode NOT NULL,
    visibility public.game_visibility DEFAULT 'public'::public.game_visibility NOT NULL,
    status public.game_status DEFAULT 'pending'::public.game_status NOT NULL,
    current_inning integer DEFAULT 1 NOT NULL,
    current_half public.half DEFAULT 'top'::public.half NOT NULL,
    outs smallint DEFAULT 0 NOT NULL,
    home_score integer DEFAULT 0 NOT NULL,
    away_score integer DEFAULT 0 NOT NULL,
    state_version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT games_away_score_nonnegative CHECK ((away_score >= 0)),
    CONSTRAINT games_completed_at_when_completed CHECK (((status = 'completed'::public.game_status) = (completed_at IS NOT NULL))),
    CONSTRAINT games_home_score_nonnegative CHECK ((home_score >= 0)),
    CONSTRAINT games_inning_positive CHECK ((current_inning >= 1)),
    CONSTRAINT games_outs_range CHECK (((outs >= 0) AND (outs <= 2))),
    CONSTRAINT games_teams_differ CHECK ((home_team_id <> away_team_id))
);


--
-- Name: lineups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.lineups (
    game_id uuid NOT NULL,
    id bigint NOT NULL,
    league_id public.league NOT NULL,
    team_id integer NOT NULL,
    card_id integer,
    player_id integer,
    "position" text NOT NULL,
    batting_order smallint,
    is_starter boolean DEFAULT true NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    replacing_id bigint,
    after_play integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lineups_after_play_nonnegative CHECK ((after_play >= 0)),
    CONSTRAINT lineups_batting_order_range CHECK (((batting_order >= 1) AND (batting_order <= 9))),
    CONSTRAINT lineups_id_matches_league CHECK (((league_id = 'pd'::public.league) = (card_id IS NOT NULL))),
    CONSTRAINT lineups_one_of_card_or_player CHECK (((card_id IS NULL) <> (player_id IS NULL))),
    CONSTRAINT lineups_position_known CHECK (("position" = ANY (ARRAY['P'::text, 'C'::text, '1B'::text, '2B'::text, '3B'::text, 'SS'::text, 'LF'::text, 'CF'::text, 'RF'::text, 'DH'::text, 'PH'::text, 'PR'::text]))),
    CONSTRAINT lineups_substitution_complete CHECK (((replacing_id IS NULL) = (after_play IS NULL)))
);


--
-- Name: lineups_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.lineups ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.lineups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: plays; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.plays (
    game_id uuid NOT NULL,
    id bigint NOT NULL,
    play_number integer NOT NULL,
    inning integer NOT NULL,
    half public.half NOT NULL,
    outs_before smallint NOT NULL,
    outs_recorded smallint DEFAULT 0 NOT NULL,
    batter_id bigint NOT NULL,
    pitcher_id bigint NOT NULL,
    catcher_id bigint,
    on_first_id bigint,
    on_second_id bigint,
    on_third_id bigint,
    dice_roll text,
    result_description text,
    outcome text,
    pa smallint DEFAULT 0 NOT NULL,
    ab smallint DEFAULT 0 NOT NULL,
    hit smallint DEFAULT 0 NOT NULL,
    double smallint DEFAULT 0 NOT NULL,
    triple smallint DEFAULT 0 NOT NULL,
    homerun smallint DEFAULT 0 NOT NULL,
    bb smallint DEFAULT 0 NOT NULL,
    so smallint DEFAULT 0 NOT NULL,
    hbp smallint DEFAULT 0 NOT NULL,
    rbi smallint DEFAULT 0 NOT NULL,
    run smallint DEFAULT 0 NOT NULL,
    sb smallint DEFAULT 0 NOT NULL,
    cs smallint DEFAULT 0 NOT NULL,
    error smallint DEFAULT 0 NOT NULL,
    wild_pitch smallint DEFAULT 0 NOT NULL,
    passed_ball smallint DEFAULT 0 NOT NULL,
    away_score integer NOT NULL,
    home_score integer NOT NULL,
    complete boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT plays_counts_nonnegative CHECK ((LEAST(pa, ab, hit, double, triple, homerun, bb, so, hbp, rbi, run, sb, cs, error, wild_pitch, passed_ball) >= 0)),
    CONSTRAINT plays_inning_positive CHECK ((inning >= 1)),
    CONSTRAINT plays_outs_range CHECK ((((outs_before >= 0) AND (outs_before <= 2)) AND ((outs_recorded >= 0) AND (outs_recorded <= 3)) AND ((outs_before + outs_recorded) <= 3))),
    CONSTRAINT plays_play_number_positive CHECK ((play_number >= 1)),
    CONSTRAINT plays_scores_nonnegative CHECK (((away_score >= 0) AND (home_score >= 0)))
);


--
-- Name: plays_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.plays ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.plays_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: rolls; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rolls (
    game_id uuid NOT NULL,
    roll_id text NOT NULL,
    roll_type text NOT NULL,
    play_number integer,
    team_id integer,
    player_id integer,
    roll_data jsonb NOT NULL,
    context jsonb,
    rolled_at timestamp with time zone DEFAULT now() NOT NULL,
    ordinal bigint NOT NULL,
    CONSTRAINT rolls_play_number_positive CHECK ((play_number >= 1)),
    CONSTRAINT rolls_roll_id_present CHECK ((roll_id <> ''::text)),
    CONSTRAINT rolls_roll_type_present CHECK ((roll_type <> ''::text))
);


--
-- Name: rolls_ordinal_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.rolls ALTER COLUMN ordinal ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.rolls_ordinal_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: roster_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.roster_links (
    game_id uuid NOT NULL,
    id bigint NOT NULL,
    league_id public.league NOT NULL,
    team_id integer NOT NULL,
    card_id integer,
    player_id integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT roster_links_id_matches_league CHECK (((league_id = 'pd'::public.league) = (card_id IS NOT NULL))),
    CONSTRAINT roster_links_one_of_card_or_player CHECK (((card_id IS NULL) <> (player_id IS NULL)))
);


--
-- Name: roster_links_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.roster_links ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.roster_links_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: game_sessions game_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.game_sessions
    ADD CONSTRAINT game_sessions_pkey PRIMARY KEY (game_id);


--
-- Name: games games_id_league_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.games
    ADD CONSTRAINT games_id_league_key UNIQUE (id, league_id);


--
-- Name: games games_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.games
    ADD CONSTRAINT games_pkey PRIMARY KEY (id);


--
-- Name: lineups lineups_card_once; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_card_once UNIQUE (game_id, team_id, card_id);


--
-- Name: lineups lineups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_pkey PRIMARY KEY (game_id, id);


--
-- Name: lineups lineups_player_once; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_player_once UNIQUE (game_id, team_id, player_id);


--
-- Name: plays plays_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_pkey PRIMARY KEY (game_id, id);


--
-- Name: plays plays_play_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_play_number_key UNIQUE (game_id, play_number);


--
-- Name: rolls rolls_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rolls
    ADD CONSTRAINT rolls_pkey PRIMARY KEY (game_id, roll_id);


--
-- Name: roster_links roster_links_card_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roster_links
    ADD CONSTRAINT roster_links_card_key UNIQUE (game_id, card_id);


--
-- Name: roster_links roster_links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roster_links
    ADD CONSTRAINT roster_links_pkey PRIMARY KEY (game_id, id);


--
-- Name: roster_links roster_links_player_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roster_links
    ADD CONSTRAINT roster_links_player_key UNIQUE (game_id, player_id);


--
-- Name: games_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX games_status_idx ON public.games USING btree (status, updated_at);


--
-- Name: lineups_active_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX lineups_active_idx ON public.lineups USING btree (game_id, team_id, batting_order) WHERE is_active;


--
-- Name: lineups_substitution_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX lineups_substitution_idx ON public.lineups USING btree (game_id, after_play) WHERE (after_play IS NOT NULL);


--
-- Name: rolls_ordinal_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rolls_ordinal_idx ON public.rolls USING btree (game_id, ordinal);


--
-- Name: rolls_play_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rolls_play_idx ON public.rolls USING btree (game_id, play_number);


--
-- Name: roster_links_team_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX roster_links_team_idx ON public.roster_links USING btree (game_id, team_id);


--
-- Name: games games_version_advances; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER games_version_advances BEFORE UPDATE ON public.games FOR EACH ROW WHEN ((new.state_version IS DISTINCT FROM (old.state_version + 1))) EXECUTE FUNCTION public.gamedb_refuse_history_rewrite('state_version only advances by one');


--
-- Name: plays plays_never_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER plays_never_change BEFORE UPDATE ON public.plays FOR EACH ROW EXECUTE FUNCTION public.gamedb_refuse_history_rewrite('plays are never updated');


--
-- Name: rolls rolls_play_stored; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER rolls_play_stored AFTER INSERT ON public.rolls REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION public.gamedb_check_roll_plays();


--
-- Name: game_sessions game_sessions_game_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.game_sessions
    ADD CONSTRAINT game_sessions_game_fkey FOREIGN KEY (game_id) REFERENCES public.games(id) ON DELETE CASCADE;


--
-- Name: lineups lineups_game_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_game_fkey FOREIGN KEY (game_id) REFERENCES public.games(id) ON DELETE CASCADE;


--
-- Name: lineups lineups_game_league_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_game_league_fkey FOREIGN KEY (game_id, league_id) REFERENCES public.games(id, league_id) ON DELETE CASCADE;


--
-- Name: lineups lineups_replacing_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lineups
    ADD CONSTRAINT lineups_replacing_fkey FOREIGN KEY (game_id, replacing_id) REFERENCES public.lineups(game_id, id) ON DELETE CASCADE;


--
-- Name: plays plays_batter_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_batter_fkey FOREIGN KEY (game_id, batter_id) REFERENCES public.lineups(game_id, id);


--
-- Name: plays plays_catcher_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_catcher_fkey FOREIGN KEY (game_id, catcher_id) REFERENCES public.lineups(game_id, id);


--
-- Name: plays plays_game_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_game_fkey FOREIGN KEY (game_id) REFERENCES public.games(id) ON DELETE CASCADE;


--
-- Name: plays plays_on_first_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_on_first_fkey FOREIGN KEY (game_id, on_first_id) REFERENCES public.lineups(game_id, id);


--
-- Name: plays plays_on_second_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_on_second_fkey FOREIGN KEY (game_id, on_second_id) REFERENCES public.lineups(game_id, id);


--
-- Name: plays plays_on_third_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_on_third_fkey FOREIGN KEY (game_id, on_third_id) REFERENCES public.lineups(game_id, id);


--
-- Name: plays plays_pitcher_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plays
    ADD CONSTRAINT plays_pitcher_fkey FOREIGN KEY (game_id, pitcher_id) REFERENCES public.lineups(game_id, id);


--
-- Name: rolls rolls_game_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rolls
    ADD CONSTRAINT rolls_game_fkey FOREIGN KEY (game_id) REFERENCES public.games(id) ON DELETE CASCADE;


--
-- Name: roster_links roster_links_game_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roster_links
    ADD CONSTRAINT roster_links_game_fkey FOREIGN KEY (game_id) REFERENCES public.games(id) ON DELETE CASCADE;


--
-- Name: roster_links roster_links_game_league_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roster_links
    ADD CONSTRAINT roster_links_game_league_fkey FOREIGN KEY (game_id, league_id) REFERENCES public.games(id, league_id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


--
-- Migrations applied
--
-- 20261127000001_create_enums.sql
-- 20261127000002_create_games.sql
-- 20261127000003_create_lineups.sql
-- 20261127000004_create_plays.sql
-- 20261127000005_create_roster_links.sql
-- 20261127000006_create_rolls.sql
-- 20261127000007_create_game_sessions.sql
-- 20261127000008_create_app_role.sql
-- 20261201000001_narrow_app_privileges.sql
-- 20261201000002_create_distribute_function.sql
-- 20261202000001_add_rolls_ordinal.sql
-- 20261203000001_check_roll_plays_per_game.sql
-- 20261203000002_delegate_plays_rewind.sql
-- 20261206000001_grant_sequences_on_workers.sql
-- 20261206000002_create_delegation_functions.sql
