-- migrate:up
CREATE TABLE games (
    id uuid PRIMARY KEY,
    league_id league NOT NULL,
    home_team_id integer NOT NULL,
    away_team_id integer NOT NULL,
    game_mode game_mode NOT NULL DEFAULT 'friendly',
    visibility game_visibility NOT NULL DEFAULT 'public',
    status game_status NOT NULL DEFAULT 'pending',
    current_inning integer NOT NULL DEFAULT 1,
    current_half half NOT NULL DEFAULT 'top',
    outs smallint NOT NULL DEFAULT 0,
    home_score integer NOT NULL DEFAULT 0,
    away_score integer NOT NULL DEFAULT 0,
    state_version bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    -- Lets lineups and roster links prove, by foreign key, that their league matches the game's.
    CONSTRAINT games_id_league_key UNIQUE (id, league_id),
    CONSTRAINT games_teams_differ CHECK (home_team_id <> away_team_id),
    CONSTRAINT games_inning_positive CHECK (current_inning >= 1),
    CONSTRAINT games_outs_range CHECK (outs BETWEEN 0 AND 2),
    CONSTRAINT games_home_score_nonnegative CHECK (home_score >= 0),
    CONSTRAINT games_away_score_nonnegative CHECK (away_score >= 0),
    CONSTRAINT games_completed_at_when_completed CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);

CREATE INDEX games_status_idx ON games (status, updated_at);

-- migrate:down
DROP TABLE games;
