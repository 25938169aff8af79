-- name: AddRosterLink :one
-- Link a card (PD) or player (SBA) to a team for this game. No row when the game is unknown,
-- of the other league, the team is not in the game, or the link already exists. The game is
-- read in a common table expression, as in AddLineupEntry.
WITH game AS (
    SELECT g.id FROM games AS g
    WHERE g.id = @game_id
        AND g.league_id = @league_id
        AND @team_id IN (g.home_team_id, g.away_team_id)
)
INSERT INTO roster_links (game_id, league_id, team_id, card_id, player_id)
SELECT @game_id, @league_id, @team_id, sqlc.narg(card_id), sqlc.narg(player_id)
WHERE EXISTS (SELECT 1 FROM game)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: FindRosterLink :one
-- The game's roster link of this card or player.
SELECT * FROM roster_links
WHERE game_id = @game_id AND (card_id = sqlc.narg(card_id) OR player_id = sqlc.narg(player_id));

-- name: GetRoster :many
-- The game's roster links, of one team when team_id is given, by team then id.
SELECT * FROM roster_links
WHERE game_id = @game_id
    AND (sqlc.narg(team_id)::integer IS NULL OR team_id = sqlc.narg(team_id)::integer)
ORDER BY team_id, id;

-- name: RemoveRosterEntry :execrows
-- Remove one roster link.
DELETE FROM roster_links WHERE game_id = @game_id AND id = @id;
