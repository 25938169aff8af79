-- migrate:up
CREATE TABLE rolls (
    game_id uuid NOT NULL,
    roll_id text NOT NULL,
    roll_type text NOT NULL,
    play_number integer,
    team_id integer,
    player_id integer,
    roll_data jsonb NOT NULL,
    context jsonb,
    rolled_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rolls_pkey PRIMARY KEY (game_id, roll_id),
    CONSTRAINT rolls_game_fkey FOREIGN KEY (game_id) REFERENCES games (id) ON DELETE CASCADE,
    CONSTRAINT rolls_roll_id_present CHECK (roll_id <> ''),
    CONSTRAINT rolls_roll_type_present CHECK (roll_type <> ''),
    CONSTRAINT rolls_play_number_positive CHECK (play_number >= 1)
);

CREATE INDEX rolls_play_idx ON rolls (game_id, play_number);

-- migrate:down
DROP TABLE rolls;
