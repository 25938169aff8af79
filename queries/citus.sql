-- name: CitusVersion :one
-- The version of the citus extension in this database, or NULL when it has none.
SELECT (SELECT e.extversion FROM pg_extension AS e WHERE e.extname = 'citus') AS citus_version;

-- name: Distribute :many
-- Distribute every table (and delete_plays_after) not distributed yet; names what it did.
SELECT gamedb_distribute()::text AS distributed;
