-- migrate:up
CREATE TYPE league AS ENUM ('sba', 'pd');
CREATE TYPE half AS ENUM ('top', 'bottom');
CREATE TYPE game_status AS ENUM ('pending', 'active', 'completed', 'abandoned');
CREATE TYPE game_mode AS ENUM ('friendly', 'ranked', 'practice');
CREATE TYPE game_visibility AS ENUM ('public', 'private');

-- migrate:down
DROP TYPE game_visibility;
DROP TYPE game_mode;
DROP TYPE game_status;
DROP TYPE half;
DROP TYPE league;
