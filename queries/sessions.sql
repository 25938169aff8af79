-- name: CreateGameSession :one
-- Open the game's session; a retry returns the existing one unchanged.
INSERT INTO game_sessions (game_id, connected_users)
VALUES (@game_id, @connected_users)
ON CONFLICT (game_id) DO UPDATE SET game_id = EXCLUDED.game_id
RETURNING *;

-- name: UpdateSessionSnapshot :one
-- Store the engine's latest state snapshot, creating the session when it has none. The
-- times come from the proposed row's defaults: Citus refuses now() in DO UPDATE SET.
INSERT INTO game_sessions (game_id, state_snapshot)
VALUES (@game_id, @state_snapshot)
ON CONFLICT (game_id) DO UPDATE SET
    state_snapshot = EXCLUDED.state_snapshot,
    last_action_at = EXCLUDED.last_action_at,
    updated_at = EXCLUDED.updated_at
RETURNING *;

-- name: GetGameSession :one
-- The game's session, or no row.
SELECT * FROM game_sessions WHERE game_id = @game_id;
