-- name: LockMigrations :exec
-- Wait for the session-level lock that serialises migrators of one database.
SELECT pg_advisory_lock(@lock_key::bigint);

-- name: UnlockMigrations :one
-- Release the migrators' lock.
SELECT pg_advisory_unlock(@lock_key::bigint) AS released;

-- name: ServerVersion :one
-- The server's version string.
SELECT current_setting('server_version') AS server_version;

-- name: CurrentTransactionId :one
-- The running transaction's id, assigned now if it has none yet: asked before a COMMIT whose
-- reply may be lost, so a retry can ask the server what became of it.
SELECT pg_current_xact_id()::text AS transaction_id;

-- name: TransactionStatus :one
-- What became of a transaction: 'committed', 'aborted', 'in progress', or NULL when it is
-- too old for the server to know.
SELECT pg_xact_status(CAST(sqlc.arg(transaction_id) AS text)::xid8) AS status;

-- name: CreateAppRole :exec
-- Create the application role unless it exists and grant it the application's privileges in
-- this database (see the migration that defines gamedb_create_app_role).
SELECT gamedb_create_app_role(@role_name::text);

-- name: TryLockMigrations :one
-- Take the migrators' lock if it is free, without waiting.
SELECT pg_try_advisory_lock(@lock_key::bigint) AS acquired;

-- name: AppliedMigrations :many
-- The versions dbmate recorded as applied, oldest first.
SELECT version FROM schema_migrations ORDER BY version;
