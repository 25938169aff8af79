-- name: CreateGameSession :one
-- Open the game's session; a retry returns the existing one unchanged.
INSERT INTO game_sessions (game_id, connected_users)
VALUES (@game_id, @connected_users)
ON CONFLICT (game_id) DO UPDATE SET game_id = EXCLUDED.game_id
RETURNING *;

-- name: UpdateSessionSnapshot :one
-- Store the engine's latest state snapshot, creating the session when it has none.
INSERT INTO game_sessions (game_id, state_snapshot)
VALUES (@game_id, @state_snapshot)
ON CONFLICT (game_id) DO UPDATE SET
    state_snapshot = EXCLUDED.state_snapshot,
    last_action_at = now(),
    updated_at = now()
RETURNING *;

-- name: GetGameSession :one
-- The game's session, or no row.
SELECT * FROM game_sessions WHERE game_id = @game_id;
