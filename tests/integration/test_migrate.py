"""Migrating: concurrent migrators, --strict, status and rollback of a fresh database, and a
migration that fails.

dbmate has no lock of its own; ``gamedb.migrate`` holds an advisory lock keyed by the target
database's name while ``dbmate up`` runs. Five migrators started together on a database that
does not exist yet must all succeed, create it once and apply each file once.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import shutil
import sys
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from gamedb.migrate import MigrationError, migrate, migration_status, migrations_dir, rollback
from gamedb_schema.urls import with_database

FULL = os.environ.get("GAMEDB_FULL_FAULTS") == "1"
ROUNDS = 20 if FULL else 2  # per kind of migrator
MIGRATORS = 5

# One migrator in a process of its own, as a deployment script would call gamedb.
MIGRATE_IN_PROCESS = """
import asyncio, sys
from gamedb.migrate import migrate
print(asyncio.run(migrate(sys.argv[1], lock=sys.argv[2] == "lock")))
"""


@pytest.fixture
async def fresh_database(pg_admin_url: str) -> AsyncIterator[Callable[[], str]]:
    """Hands out URLs of databases that do not exist yet; drops whatever they became."""
    names: list[str] = []

    def fresh() -> str:
        names.append(f"gamedb_fresh_{uuid.uuid4().hex[:12]}")
        return with_database(pg_admin_url, names[-1])

    yield fresh
    conn = await asyncpg.connect(pg_admin_url)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def shipped_migrations() -> list[str]:
    return sorted(path.name for path in migrations_dir().glob("*.sql"))


def migrations_with(tmp_path: Path, extra: dict[str, str]) -> Path:
    """The shipped migrations plus ``extra`` (file name: text), in a folder of the test's own."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in migrations_dir().glob("*.sql"):
        shutil.copy(path, folder / path.name)
    for name, text in extra.items():
        (folder / name).write_text(text)
    return folder


def version_of(name: str) -> str:
    return name.split("_", 1)[0]


async def recorded_versions(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [row["version"] for row in rows]


async def database_exists(admin_url: str, name: str) -> bool:
    conn = await asyncpg.connect(admin_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def run_migrators(kind: str, url: str, *, lock: bool = True) -> list[tuple[int, str]]:
    """Start MIGRATORS processes at once; their exit statuses and outputs."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if kind == "cli":
        command = [sys.executable, "-m", "gamedb", "migrate"]
        env["DATABASE_URL"] = url
    else:
        command = [sys.executable, "-c", MIGRATE_IN_PROCESS, url, "lock" if lock else "no-lock"]
    processes = [
        await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for _ in range(MIGRATORS)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    return [
        (process.returncode or 0, stdout.decode())
        for process, (stdout, _) in zip(processes, outputs, strict=True)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cli", "function"])
async def test_concurrent_migrators_on_a_fresh_database(
    kind: str, fresh_database: Callable[[], str]
) -> None:
    files = shipped_migrations()
    slowest = 0.0
    for _ in range(ROUNDS):
        url = fresh_database()
        started = time.perf_counter()
        results = await run_migrators(kind, url)
        slowest = max(slowest, time.perf_counter() - started)
        assert [status for status, _ in results] == [0] * MIGRATORS, results
        reports = "\n".join(output for _, output in results)
        assert reports.count("Creating: ") == 1, reports
        applied = collections.Counter(re.findall(r"^Applying: (\S+)$", reports, re.MULTILINE))
        assert applied == dict.fromkeys(files, 1), reports
        assert await recorded_versions(url) == [version_of(name) for name in files]
    report = (
        f"\n{ROUNDS} rounds of {MIGRATORS} concurrent `{kind}` migrators on a fresh database: "
        f"{ROUNDS * MIGRATORS} succeeded, each of {len(files)} versions recorded once, slowest "
        f"round {slowest:.2f} s"
    )
    if kind == "function":
        # The same race without the lock, for comparison: dbmate alone lets migrators collide.
        unlocked = await run_migrators(kind, fresh_database(), lock=False)
        collided = sum(1 for status, _ in unlocked if status != 0)
        report += f"; without the lock {collided} of {MIGRATORS} failed"
    print(report)


async def test_strict_refuses_a_migration_older_than_the_newest_applied(
    fresh_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database()
    await migrate(url, strict=True)
    files = shipped_migrations()
    assert await recorded_versions(url) == [version_of(name) for name in files]
    late = f"{int(version_of(files[0])) - 1}_late_arrival.sql"
    folder = migrations_with(
        tmp_path,
        {late: "-- migrate:up\nCREATE TABLE late_arrival (id int);\n\n-- migrate:down\n"},
    )
    monkeypatch.setenv("GAMEDB_MIGRATIONS_DIR", str(folder))
    with pytest.raises(MigrationError, match=version_of(late)):
        await migrate(url, strict=True)
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gamedb",
        "migrate",
        "--strict",
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await cli.communicate())[0].decode()
    assert cli.returncode == 1 and version_of(late) in output, output
    assert (await migration_status(url)).pending == (late,)
    await migrate(url)
    assert (await migration_status(url)).pending == ()
    assert version_of(late) in await recorded_versions(url)


async def test_status_and_rollback_of_a_fresh_database(
    fresh_database: Callable[[], str], pg_admin_url: str
) -> None:
    files = shipped_migrations()
    url = fresh_database()
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with pytest.raises(MigrationError, match="does not exist"):
        await migration_status(url)
    with pytest.raises(MigrationError, match="does not exist"):
        await rollback(url)
    assert not await database_exists(pg_admin_url, name), "status and rollback create nothing"

    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        major = (await conn.fetchval("SHOW server_version")).split(".")[0]
    finally:
        await conn.close()
    status = await migration_status(url)
    assert (status.applied, status.pending) == ((), tuple(files))
    assert status.server_version.split(".")[0] == major
    with pytest.raises(MigrationError, match="rollback"):
        await rollback(url)

    await migrate(url)
    assert (await migration_status(url)).applied == tuple(files)
    await rollback(url)
    status = await migration_status(url)
    assert (status.applied, status.pending) == (tuple(files[:-1]), (files[-1],))
    await migrate(url)
    assert await recorded_versions(url) == [version_of(name) for name in files]


async def test_a_failing_migration_raises_and_keeps_the_earlier_ones(
    fresh_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = shipped_migrations()
    broken = f"{int(version_of(files[-1])) + 1}_broken.sql"
    folder = migrations_with(
        tmp_path,
        {
            broken: "-- migrate:up\nCREATE TABLE half_done (id int);\n"
            "INSERT INTO no_such_table VALUES (1);\n\n"
            "-- migrate:down\nDROP TABLE half_done;\n"
        },
    )
    monkeypatch.setenv("GAMEDB_MIGRATIONS_DIR", str(folder))
    url = fresh_database()
    started = time.perf_counter()
    with pytest.raises(MigrationError, match='relation "no_such_table" does not exist') as failed:
        await migrate(url)
    assert time.perf_counter() - started < 5, "a failing migration is not retried"
    assert broken in str(failed.value)
    status = await migration_status(url)
    assert (status.applied, status.pending) == (tuple(files), (broken,))
    assert await recorded_versions(url) == [version_of(name) for name in files]
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()
