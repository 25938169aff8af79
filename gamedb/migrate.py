"""Schema migrations: dbmate underneath, serialised by a PostgreSQL advisory lock.

dbmate takes no lock of its own by default, so two migrators starting together could both
create the database or apply the same file. gamedb holds a session-level advisory lock in
the server's maintenance database (keyed by the target database's name, so it exists before
the target does) for the whole ``dbmate up``::

    await migrate("postgresql://postgres@localhost/games", on_output=print)
    status = await migration_status("postgresql://postgres@localhost/games")
    new_migration("add_weather")      # schema/<UTC timestamp>_add_weather.sql, up and down

Each migration waits at most :data:`MIGRATION_LOCK_TIMEOUT` for a table lock and is applied
again when it gives way, so a schema change never queues every write behind a long reader.
Migrating creates no role; :func:`create_app_role` creates the application's, on purpose.
Running dbmate and dumping the schema belong to :mod:`gamedb_schema` (the code generator
uses them too); :class:`MigrationError`, :func:`migrations_dir` and :func:`dump_schema` are
re-exported here. The password never reaches dbmate's command line (nor pg_dump's): it
travels in ``PGPASSWORD``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import logging
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from gamedb.errors import ConfigurationError, GameDBError, is_transient, translating
from gamedb.retry import RetryPolicy, retrying
from gamedb_gen import admin, citus
from gamedb_schema.dbmate import Output, dbmate_status, migrations_dir, run_dbmate
from gamedb_schema.dump import dump_schema
from gamedb_schema.errors import MigrationError
from gamedb_schema.urls import database_name, normalize_url, redact_url, with_database

__all__ = [
    "APP_ROLE",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATION_RETRY_DEADLINE",
    "MigrationError",
    "MigrationStatus",
    "create_app_role",
    "dump_schema",
    "migrate",
    "migration_status",
    "migrations_dir",
    "new_migration",
    "rollback",
]

log = logging.getLogger("gamedb")

_MIGRATION_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")

DEFAULT_WAIT_TIMEOUT = 300.0
"""Seconds a migrator waits for another one to finish before giving up (dbmate's default)."""


@dataclasses.dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Which migrations a database has, and which are still to apply."""

    applied: tuple[str, ...]
    pending: tuple[str, ...]
    server_version: str
    unknown: tuple[str, ...] = ()
    """Versions the database has applied that no migration file has: the database is ahead
    of this code (a newer release migrated it)."""

    @property
    def ahead(self) -> bool:
        """Whether the database has migrations this code does not know."""
        return bool(self.unknown)


@contextlib.asynccontextmanager
async def _migration_lock(
    url: str, *, timeout: float = DEFAULT_WAIT_TIMEOUT, on_output: Output | None = None
) -> AsyncIterator[None]:
    database = database_name(url)
    key = int.from_bytes(
        hashlib.sha256(f"gamedb-migrate:{database}".encode()).digest()[:8], "big", signed=True
    )
    # pg_advisory_lock gives up after lock_timeout: a stuck migrator elsewhere fails this one.
    waiting = {"lock_timeout": str(max(1, int(timeout * 1000)))}
    with translating():
        try:
            conn = await asyncpg.connect(
                with_database(url, "postgres"), timeout=10, server_settings=waiting
            )
        except asyncpg.InvalidCatalogNameError:
            # No maintenance database (a managed service): the target must exist already.
            conn = await asyncpg.connect(url, timeout=10, server_settings=waiting)
    try:
        if not await admin.try_lock_migrations(conn, lock_key=key):
            note = f"Waiting for another migrator of {database!r} (at most {timeout:g} s)"
            log.debug(note)
            if on_output is not None:
                on_output(note)
            try:
                await admin.lock_migrations(conn, lock_key=key)
            except asyncpg.LockNotAvailableError as exc:
                raise MigrationError(
                    f"another migrator of {database!r} held the migration lock for more than "
                    f"{timeout:g} s; nothing was applied (wait longer with --wait-timeout)"
                ) from exc
        try:
            yield
        finally:
            await admin.unlock_migrations(conn, lock_key=key)
    finally:
        await conn.close()


MIGRATION_LOCK_TIMEOUT = 2.0
"""Seconds a migration waits for a table lock before it gives up and is tried again: a schema
change queued behind a long reader would otherwise hold up every write to that table."""

MIGRATION_RETRY_DEADLINE = 300.0
"""Seconds ``migrate`` keeps trying a migration that times out on locks or loses a deadlock."""

APP_ROLE = "gamedb_app"
"""The role the engine connects as (or a login role granted it): see :func:`create_app_role`."""


async def migrate(
    url: str,
    *,
    strict: bool = False,
    lock: bool = True,
    create_role: bool = False,
    lock_timeout: float = MIGRATION_LOCK_TIMEOUT,
    retry_deadline: float = MIGRATION_RETRY_DEADLINE,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    on_output: Output | None = None,
) -> str:
    """Create the database when missing and apply every pending migration; return dbmate's
    report (``on_output`` sees each line as dbmate writes it). ``strict`` refuses migrations
    older than the newest applied one; ``lock=False`` skips the migrators' lock, for a
    database no one else can see yet; ``wait_timeout`` bounds the wait for that lock;
    ``create_role`` also runs :func:`create_app_role`. Each migration waits at most
    ``lock_timeout`` seconds for a table lock; one that times out (or loses a deadlock) is
    applied again, for up to ``retry_deadline`` seconds."""
    url = normalize_url(url)
    args = ("up", *(["--strict"] if strict else []))
    async with (
        _migration_lock(url, timeout=wait_timeout, on_output=on_output)
        if lock
        else contextlib.nullcontext()
    ):
        report = await _apply(
            url, args, lock_timeout=lock_timeout, deadline=retry_deadline, on_output=on_output
        )
        if create_role:
            await create_app_role(url)
    return report


async def create_app_role(url: str, role: str = APP_ROLE) -> None:
    """Make the cluster-wide role ``role`` (``NOLOGIN``) unless it exists, and grant it the
    application's privileges in the (migrated) database ``url`` names. Migrating never makes
    it: roles are shared by every database of the server, so adding one is the operator's
    decision (``gamedb create-role``). Safe to run again, and from several databases at once::

        await create_app_role("postgresql://postgres@db/games")
        # then give the engine a login role that is a member of gamedb_app
    """
    url = normalize_url(url)
    with translating():
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await admin.create_app_role(conn, role_name=role)
            await citus.grant_sequences_on_workers(conn)
        except asyncpg.UndefinedFunctionError as exc:
            message = f"{redact_url(url)} is not migrated: run `gamedb migrate`"
            raise MigrationError(message) from exc
        finally:
            await conn.close()


# A migration altering tables the application writes can lose a deadlock to a writer (its
# ALTER holds one table while waiting for another the writer holds), or time out waiting for
# a lock behind a long reader. dbmate rolled that migration back, and applying again starts
# from it, so `up` is retried like a transaction, by the rule every transaction is retried by.
# dbmate runs in a process of its own and says why it failed only in its output. Of that
# output gamedb reads one field, the SQLSTATE dbmate's PostgreSQL driver appends to the
# server's message ("pq: deadlock detected (40P01)"), and takes asyncpg's exception of that
# SQLSTATE for the failure's cause: no message is matched, and no code is listed here.
_SERVER_ERROR = re.compile(r"pq: (?P<message>.*?) \((?P<sqlstate>[0-9A-Z]{5})\)(?=;|$)")


async def _apply(
    url: str,
    args: tuple[str, ...],
    *,
    lock_timeout: float,
    deadline: float,
    on_output: Output | None,
) -> str:
    async def up() -> str:
        try:
            return await run_dbmate(url, *args, lock_timeout=lock_timeout, on_output=on_output)
        except MigrationError as exc:
            reported = list(_SERVER_ERROR.finditer(str(exc)))
            if not reported:
                raise
            last = reported[-1]
            raise exc from asyncpg.PostgresError.new({"C": last["sqlstate"], "M": last["message"]})

    return await retrying(
        up,
        # The deadline alone bounds it: a migration may give way many times to a long reader.
        policy=RetryPolicy(base=0.1, cap=1.0, deadline=deadline, max_attempts=sys.maxsize),
        what=f"dbmate up on {redact_url(url)}",
        retryable=_gave_way,
    )


def _gave_way(failure: GameDBError) -> bool:
    """Whether dbmate's migration failed as a transaction that is run again fails."""
    return failure.__cause__ is not None and is_transient(failure.__cause__)


async def migration_status(url: str) -> MigrationStatus:
    """Applied and pending migrations, versions applied that no file has, the server version."""
    url = normalize_url(url)
    applied, pending = await dbmate_status(url)
    with translating():
        conn = await asyncpg.connect(url, timeout=10)
        try:
            version = await admin.server_version(conn)
            try:
                recorded = await admin.applied_migrations(conn)
            except asyncpg.UndefinedTableError:  # dbmate has not recorded anything here yet
                recorded = []
        finally:
            await conn.close()
    known = {path.name.split("_", 1)[0] for path in migrations_dir().glob("*.sql")}
    return MigrationStatus(
        applied=applied,
        pending=pending,
        server_version=version or "unknown",
        unknown=tuple(v for v in recorded if v not in known),
    )


async def rollback(
    url: str,
    *,
    steps: int = 1,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    on_output: Output | None = None,
) -> str:
    """Undo the newest ``steps`` migrations (their ``-- migrate:down`` sections). Refused
    when the database is ahead of the code: dbmate would undo the newest migration *it*
    knows, leaving the newer ones on top of a schema they no longer match."""
    url = normalize_url(url)
    reports = []
    async with _migration_lock(url, timeout=wait_timeout, on_output=on_output):
        found = await migration_status(url)
        if found.ahead:
            raise MigrationError(
                f"{redact_url(url)} has migrations this gamedb does not know "
                f"({', '.join(found.unknown)}): roll back with the release that applied them"
            )
        for _ in range(steps):
            reports.append(await run_dbmate(url, "rollback", on_output=on_output))
    return "\n".join(reports)


def new_migration(name: str, directory: Path | None = None) -> Path:
    """Create ``<UTC timestamp>_<name>.sql`` with empty up and down sections in
    ``directory`` (default: :func:`migrations_dir`); return its path. ``name`` is
    ``verb_noun`` in lower case, e.g. ``add_weather``."""
    if not _MIGRATION_NAME.fullmatch(name):
        raise ConfigurationError(
            f"migration name {name!r} must be verb_noun in lower case, e.g. add_weather"
        )
    folder = directory or migrations_dir()
    if not folder.is_dir():
        raise ConfigurationError(f"no migrations folder at {folder}")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
    path = folder / f"{stamp}_{name}.sql"
    if any(folder.glob(f"{stamp}_*.sql")):
        raise ConfigurationError(f"a migration with version {stamp} exists: try again")
    path.write_text("-- migrate:up\n\n\n-- migrate:down\n\n")
    return path
