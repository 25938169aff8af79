"""Drives ``sqlc`` for the Makefile: ``python -m gamedb_codegen.pipeline generate|vet|version``.

``generate`` migrates a scratch database (``DATABASE_URL``'s server, else the embedded one),
runs ``sqlc generate`` with database-backed analysis against it, so type errors such as
``uuid_col = 5`` fail as well as unknown names, then prunes generated files that are no
longer in the manifest. The scratch database is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

__all__ = ["PINNED_SQLC_VERSION", "main"]

PINNED_SQLC_VERSION = "v1.31.1"
ROOT = Path.cwd()


def _sqlc() -> str:
    return str(Path(sys.executable).parent / "sqlc")


def _server_url() -> str:
    from gamedb.settings import normalize_url, with_database

    url = os.environ.get("DATABASE_URL")
    if url:
        return with_database(normalize_url(url), "postgres")
    from gamedb.embedded import start_embedded_server

    return start_embedded_server()


async def _create_scratch(server_url: str) -> str:
    from gamedb.migrate import migrate
    from gamedb.settings import with_database

    name = f"gamedb_sqlc_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    await migrate(url, lock=False)
    return url


async def _drop_scratch(server_url: str, url: str) -> None:
    name = url.split("?")[0].rsplit("/", 1)[1]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _run_sqlc(*args: str, database_url: str | None) -> int:
    env = dict(os.environ)
    env["SQLC_DATABASE_URL"] = database_url or ""
    return subprocess.run([_sqlc(), *args], env=env, cwd=ROOT, check=False).returncode


def check_version() -> int:
    found = subprocess.run([_sqlc(), "version"], capture_output=True, text=True, check=True)
    version = found.stdout.strip()
    if version != PINNED_SQLC_VERSION:
        print(f"sqlc {version} is installed; gamedb pins {PINNED_SQLC_VERSION}", file=sys.stderr)
        return 1
    return 0


def _with_scratch_database(*sqlc_args: str) -> int:
    server = _server_url()
    url = asyncio.run(_create_scratch(server))
    try:
        return _run_sqlc(*sqlc_args, database_url=url)
    finally:
        asyncio.run(_drop_scratch(server, url))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "version":
        return check_version()
    if command == "generate":
        status = check_version() or _with_scratch_database("generate")
        if status == 0:
            from gamedb_codegen.prune import prune

            prune(ROOT / "gen")
        return status
    if command == "vet":
        return check_version() or _with_scratch_database("vet")
    print("usage: python -m gamedb_codegen.pipeline generate|vet|version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
