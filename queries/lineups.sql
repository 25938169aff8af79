-- name: AddLineupEntry :one
-- Add a starter to a team's lineup. No row when the game is unknown, of the other league,
-- the team is not in the game, or the card/player is already in that team's lineup.
INSERT INTO lineups (
    game_id, league_id, team_id, card_id, player_id, position, batting_order, is_starter
)
SELECT g.id, g.league_id, @team_id, sqlc.narg(card_id), sqlc.narg(player_id), @position,
       sqlc.narg(batting_order), @is_starter
FROM games AS g
WHERE g.id = @game_id
    AND g.league_id = @league_id
    AND @team_id IN (g.home_team_id, g.away_team_id)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: FindLineupEntry :one
-- The lineup row of this card or player on this team, active or not.
SELECT * FROM lineups
WHERE game_id = @game_id
    AND team_id = @team_id
    AND (card_id = sqlc.narg(card_id) OR player_id = sqlc.narg(player_id));

-- name: SubstitutePlayer :one
-- Replace an active lineup entry after a play: the old entry goes inactive, the new one
-- takes its team and, unless given, its batting order. No row (and nothing written) when the
-- replaced entry is unknown, already inactive, of the other league (a card replaces a card,
-- a player a player), or when play @after_play is not stored. Like InsertPlay, the game row
-- is share-locked first, so a rollback in progress is waited for; the play is then locked
-- too, so one that rollback deleted meanwhile counts as missing (READ COMMITTED skips deleted
-- rows it locks): a substitution racing a rollback never outlives the plays it follows.
WITH game AS (
    SELECT g.id FROM games AS g WHERE g.id = @game_id FOR KEY SHARE
), played AS (
    SELECT p.play_number FROM plays AS p
    WHERE p.game_id = @game_id
        AND p.play_number = sqlc.arg(after_play)::integer
        AND EXISTS (SELECT 1 FROM game)
    FOR KEY SHARE
), replaced AS (
    UPDATE lineups SET is_active = false
    WHERE lineups.game_id = @game_id AND lineups.id = @replacing_id AND lineups.is_active
        AND lineups.league_id
            = (CASE WHEN sqlc.narg(card_id)::integer IS NULL THEN 'sba' ELSE 'pd' END)::league
        AND EXISTS (SELECT 1 FROM game)
        AND (sqlc.arg(after_play)::integer = 0 OR EXISTS (SELECT 1 FROM played))
    RETURNING lineups.game_id, lineups.league_id, lineups.team_id, lineups.id,
              lineups.batting_order
)
INSERT INTO lineups (
    game_id, league_id, team_id, card_id, player_id, position, batting_order, is_starter,
    is_active, replacing_id, after_play
)
SELECT r.game_id, r.league_id, r.team_id, sqlc.narg(card_id), sqlc.narg(player_id), @position,
       COALESCE(sqlc.narg(batting_order), r.batting_order), false, true, r.id,
       sqlc.arg(after_play)::integer
FROM replaced AS r
RETURNING *;

-- name: GetLineupEntry :one
-- One lineup row by id.
SELECT * FROM lineups WHERE game_id = @game_id AND id = @id;

-- name: GetActiveLineup :many
-- A team's active lineup in batting order (pitcher without a batting slot last).
SELECT * FROM lineups
WHERE game_id = @game_id AND team_id = @team_id AND is_active
ORDER BY batting_order NULLS LAST, id;

-- name: GetActiveLineups :many
-- Both teams' active lineups, by team then batting order.
SELECT * FROM lineups
WHERE game_id = @game_id AND is_active
ORDER BY team_id, batting_order NULLS LAST, id;

-- name: DeleteSubstitutionsAfter :execrows
-- Remove substitutions made after play @after_play or later and reactivate the entries they
-- replaced (unless those are removed too).
WITH removed AS (
    DELETE FROM lineups
    WHERE lineups.game_id = @game_id AND lineups.after_play >= @after_play
    RETURNING lineups.id, lineups.replacing_id
), reactivated AS (
    UPDATE lineups SET is_active = true
    WHERE lineups.game_id = @game_id
        AND lineups.id IN (SELECT r.replacing_id FROM removed AS r)
        AND lineups.id NOT IN (SELECT r.id FROM removed AS r)
    RETURNING lineups.id
)
SELECT r.id FROM removed AS r;
