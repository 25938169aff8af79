-- name: AddLineupEntry :one
-- Add a starter to a team's lineup. No row when the game is unknown, of the other league,
-- the team is not in the game, or the card/player is already in that team's lineup. The
-- game is read in a common table expression, not in the INSERT's own FROM: a function of
-- this statement then runs on the game's Citus node inside a transaction too (see
-- gamedb.delegation).
WITH game AS (
    SELECT g.id FROM games AS g
    WHERE g.id = @game_id
        AND g.league_id = @league_id
        AND @team_id IN (g.home_team_id, g.away_team_id)
)
INSERT INTO lineups (
    game_id, league_id, team_id, card_id, player_id, position, batting_order, is_starter
)
SELECT @game_id, @league_id, @team_id, sqlc.narg(card_id), sqlc.narg(player_id), @position,
       sqlc.narg(batting_order), @is_starter
WHERE EXISTS (SELECT 1 FROM game)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: FindLineupEntry :one
-- The lineup row of this card or player on this team, active or not.
SELECT * FROM lineups
WHERE game_id = @game_id
    AND team_id = @team_id
    AND (card_id = sqlc.narg(card_id) OR player_id = sqlc.narg(player_id));

-- name: AddSubstitution :one
-- Replace an active lineup entry after a play: the old entry goes inactive, the new one
-- takes its team and, unless given, its batting order. No row (and nothing written) when the
-- replaced entry is unknown, already inactive, of the other league (a card replaces a card,
-- a player a player), or when play @after_play is not stored. Like SavePlay, the game row
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

-- name: AddSubstitutionsBatch :many
-- AddSubstitution for many substitutions (of any games) given as one JSON array (game_id,
-- replacing_id, card_id, player_id, position, batting_order, after_play), in one statement.
-- Each must replace another entry; one refused as AddSubstitution refuses it (entry unknown
-- or inactive, the other league, play @after_play not stored) inserts nothing and returns no
-- row, for the caller to tell a retry from a conflict. The games and plays are locked as
-- AddSubstitution locks them, so a substitution racing a rollback never outlives its play.
WITH incoming AS (
    SELECT
        s.game_id, s.replacing_id, s.card_id, s.player_id, s.position, s.batting_order,
        s.after_play
    FROM jsonb_to_recordset(sqlc.arg(substitutions)::text::jsonb) AS s (
        game_id uuid, replacing_id bigint, card_id integer, player_id integer, position text,
        batting_order smallint, after_play integer
    )
), game AS (
    SELECT g.id FROM games AS g WHERE g.id IN (SELECT i.game_id FROM incoming AS i) FOR KEY SHARE
), played AS (
    SELECT p.game_id, p.play_number FROM plays AS p
    JOIN incoming AS i ON p.game_id = i.game_id AND p.play_number = i.after_play
    WHERE p.game_id IN (SELECT gm.id FROM game AS gm)
    FOR KEY SHARE OF p
), replaced AS (
    UPDATE lineups SET is_active = false
    FROM incoming AS i
    WHERE lineups.game_id = i.game_id AND lineups.id = i.replacing_id AND lineups.is_active
        AND lineups.league_id = (CASE WHEN i.card_id IS NULL THEN 'sba' ELSE 'pd' END)::league
        AND i.game_id IN (SELECT gm.id FROM game AS gm)
        AND (
            i.after_play = 0
            OR EXISTS (
                SELECT 1 FROM played AS pl
                WHERE pl.game_id = i.game_id AND pl.play_number = i.after_play
            )
        )
    RETURNING lineups.game_id, lineups.league_id, lineups.team_id, lineups.id,
              COALESCE(i.batting_order, lineups.batting_order) AS batting_order, i.card_id,
              i.player_id, i.position, i.after_play
), inserted AS (
    INSERT INTO lineups (
        game_id, league_id, team_id, card_id, player_id, position, batting_order, is_starter,
        is_active, replacing_id, after_play
    )
    SELECT r.game_id, r.league_id, r.team_id, r.card_id, r.player_id, r.position,
           r.batting_order, false, true, r.id, r.after_play
    FROM replaced AS r
    RETURNING lineups.game_id, lineups.id, lineups.league_id, lineups.team_id,
              lineups.card_id, lineups.player_id, lineups.position, lineups.batting_order,
              lineups.is_starter, lineups.is_active, lineups.replacing_id, lineups.after_play,
              lineups.created_at
)
SELECT
    n.game_id, n.id, n.league_id, n.team_id, n.card_id, n.player_id, n.position,
    n.batting_order, n.is_starter, n.is_active, n.replacing_id, n.after_play, n.created_at
FROM inserted AS n;
