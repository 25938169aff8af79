-- name: GetBatterStats :many
-- Batting line of every lineup entry of the game (one entry when lineup_id is given).
SELECT
    l.id AS lineup_id, l.team_id, l.card_id, l.player_id, l.position, l.batting_order,
    COALESCE(sum(p.pa), 0)::integer AS pa,
    COALESCE(sum(p.ab), 0)::integer AS ab,
    COALESCE(sum(p.hit), 0)::integer AS hit,
    COALESCE(sum(p.double), 0)::integer AS double,
    COALESCE(sum(p.triple), 0)::integer AS triple,
    COALESCE(sum(p.homerun), 0)::integer AS homerun,
    COALESCE(sum(p.bb), 0)::integer AS bb,
    COALESCE(sum(p.so), 0)::integer AS so,
    COALESCE(sum(p.hbp), 0)::integer AS hbp,
    COALESCE(sum(p.rbi), 0)::integer AS rbi,
    COALESCE(sum(p.sb), 0)::integer AS sb,
    COALESCE(sum(p.cs), 0)::integer AS cs
FROM lineups AS l
LEFT JOIN plays AS p ON p.game_id = l.game_id AND p.batter_id = l.id
WHERE l.game_id = @game_id
    AND (sqlc.narg(lineup_id)::bigint IS NULL OR l.id = sqlc.narg(lineup_id)::bigint)
GROUP BY l.game_id, l.id
ORDER BY l.team_id, l.batting_order NULLS LAST, l.id;

-- name: GetPitcherStats :many
-- Pitching line of every lineup entry that pitched (one entry when lineup_id is given).
SELECT
    l.id AS lineup_id, l.team_id, l.card_id, l.player_id,
    COALESCE(sum(p.outs_recorded), 0)::integer AS outs,
    COALESCE(sum(p.pa), 0)::integer AS batters_faced,
    COALESCE(sum(p.hit), 0)::integer AS hits_allowed,
    COALESCE(sum(p.run), 0)::integer AS runs_allowed,
    COALESCE(sum(p.bb), 0)::integer AS walks,
    COALESCE(sum(p.so), 0)::integer AS strikeouts,
    COALESCE(sum(p.homerun), 0)::integer AS homeruns_allowed,
    COALESCE(sum(p.hbp), 0)::integer AS hit_batters,
    COALESCE(sum(p.error), 0)::integer AS errors,
    COALESCE(sum(p.wild_pitch), 0)::integer AS wild_pitches
FROM lineups AS l
JOIN plays AS p ON p.game_id = l.game_id AND p.pitcher_id = l.id
WHERE l.game_id = @game_id
    AND (sqlc.narg(lineup_id)::bigint IS NULL OR l.id = sqlc.narg(lineup_id)::bigint)
GROUP BY l.game_id, l.id
ORDER BY l.team_id, min(p.play_number);

-- name: GetBoxScore :many
-- Batting and pitching line of every lineup entry of the game, in one statement. Every table
-- is filtered by @game_id itself, so Citus plans it for the game's shard alone.
SELECT
    g.home_team_id, g.away_team_id, g.home_score, g.away_score, g.status,
    l.id AS lineup_id, l.team_id, l.card_id, l.player_id, l.position, l.batting_order,
    l.is_starter, l.is_active,
    b.pa, b.ab, b.hit, b.double, b.triple, b.homerun, b.bb, b.so, b.hbp, b.rbi, b.sb, b.cs,
    pt.outs, pt.batters_faced, pt.hits_allowed, pt.runs_allowed, pt.walks, pt.strikeouts,
    pt.homeruns_allowed, pt.hit_batters, pt.errors, pt.wild_pitches
FROM lineups AS l
JOIN games AS g ON g.id = @game_id
CROSS JOIN LATERAL (
    SELECT
        COALESCE(sum(p.pa), 0)::integer AS pa,
        COALESCE(sum(p.ab), 0)::integer AS ab,
        COALESCE(sum(p.hit), 0)::integer AS hit,
        COALESCE(sum(p.double), 0)::integer AS double,
        COALESCE(sum(p.triple), 0)::integer AS triple,
        COALESCE(sum(p.homerun), 0)::integer AS homerun,
        COALESCE(sum(p.bb), 0)::integer AS bb,
        COALESCE(sum(p.so), 0)::integer AS so,
        COALESCE(sum(p.hbp), 0)::integer AS hbp,
        COALESCE(sum(p.rbi), 0)::integer AS rbi,
        COALESCE(sum(p.sb), 0)::integer AS sb,
        COALESCE(sum(p.cs), 0)::integer AS cs
    FROM plays AS p WHERE p.game_id = @game_id AND p.batter_id = l.id
) AS b
CROSS JOIN LATERAL (
    SELECT
        COALESCE(sum(p.outs_recorded), 0)::integer AS outs,
        COALESCE(sum(p.pa), 0)::integer AS batters_faced,
        COALESCE(sum(p.hit), 0)::integer AS hits_allowed,
        COALESCE(sum(p.run), 0)::integer AS runs_allowed,
        COALESCE(sum(p.bb), 0)::integer AS walks,
        COALESCE(sum(p.so), 0)::integer AS strikeouts,
        COALESCE(sum(p.homerun), 0)::integer AS homeruns_allowed,
        COALESCE(sum(p.hbp), 0)::integer AS hit_batters,
        COALESCE(sum(p.error), 0)::integer AS errors,
        COALESCE(sum(p.wild_pitch), 0)::integer AS wild_pitches
    FROM plays AS p WHERE p.game_id = @game_id AND p.pitcher_id = l.id
) AS pt
WHERE l.game_id = @game_id
ORDER BY l.team_id, l.batting_order NULLS LAST, l.id;
