-- name: LockMigrations :exec
-- Wait for the session-level lock that serialises migrators of one database.
SELECT pg_advisory_lock(@lock_key::bigint);

-- name: UnlockMigrations :one
-- Release the migrators' lock.
SELECT pg_advisory_unlock(@lock_key::bigint) AS released;

-- name: ServerVersion :one
-- The server's version string.
SELECT current_setting('server_version') AS server_version;

-- name: TryLockMigrations :one
-- Take the migrators' lock if it is free, without waiting.
SELECT pg_try_advisory_lock(@lock_key::bigint) AS acquired;

-- name: AppliedMigrations :many
-- The versions dbmate recorded as applied, oldest first.
SELECT version FROM schema_migrations ORDER BY version;
