-- name: CitusVersion :one
-- The version of the citus extension in this database, or NULL when it has none.
SELECT (SELECT e.extversion FROM pg_extension AS e WHERE e.extname = 'citus') AS citus_version;

-- name: Distribute :many
-- Distribute every table (and delete_plays_after) not distributed yet; names what it did.
SELECT gamedb_distribute()::text AS distributed;

-- name: GrantSequencesOnWorkers :exec
-- Give every worker's copy of the identity sequences the coordinator's USAGE grants (the
-- writes delegated to a game's node draw their ids there).
SELECT gamedb_grant_sequences_on_workers();

-- name: DelegatedCall :one
-- The call gamedb sends to a Citus coordinator in place of a delegated statement.
SELECT gamedb_delegated_call(@statement::text)::text AS call;

-- name: DelegateStatement :one
-- Make a statement the body of a function delegated to the game's node, unless done; the
-- function's name when it was distributed now, else NULL.
SELECT gamedb_delegate(
    @statement::text, @parameter_types::oid[], @column_names::text[], @column_types::oid[]
)::text AS distributed;
