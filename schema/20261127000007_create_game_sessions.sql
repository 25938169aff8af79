-- migrate:up
CREATE TABLE game_sessions (
    game_id uuid PRIMARY KEY,
    connected_users jsonb NOT NULL DEFAULT '{}',
    state_snapshot jsonb,
    last_action_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT game_sessions_game_fkey FOREIGN KEY (game_id) REFERENCES games (id) ON DELETE CASCADE
);

-- migrate:down
DROP TABLE game_sessions;
