"""A database password never shows: not in logs, exception text, reprs, nor the command lines
of the child processes gamedb starts (dbmate, and pg_dump under it).

Every connection-failure path runs with a sentinel password; the test server trusts local
connections, so the sentinel is also accepted where a path needs a working server.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import traceback
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from gamedb import ConfigurationError, ConnectionFailed, Database, GameDBError, TransientError
from gamedb.migrate import MigrationError, migrate, migration_status
from gamedb.retry import RetryPolicy
from gamedb.settings import Settings
from gamedb_schema.urls import with_database
from tests.proxy import FaultProxy

SENTINEL = "s3ntinel-Pa55-7f3a9c"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def texts_of(error: BaseException) -> list[str]:
    """Everything an error shows: its text, repr and traceback, and those of every error it
    was raised from (even a suppressed context: error trackers may record it)."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return texts


class CommandLines(threading.Thread):
    """Reads the command line of every process started from this one (children, and theirs)
    from /proc until stopped, and whether the environment of each carries the password. A
    child is read again on every sweep: it may be caught between fork and exec."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[tuple[int, bytes], bool] = {}
        """(pid, command line) -> whether that process's environment holds the password."""
        self._finished = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        ours = {me}
        password = f"PGPASSWORD={SENTINEL}".encode()
        while not self._finished.is_set():
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == me:
                    continue
                pid = int(entry)
                try:
                    stat = Path(f"/proc/{pid}/stat").read_bytes()
                    parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
                    if parent not in ours and pid not in ours:
                        continue
                    line = Path(f"/proc/{pid}/cmdline").read_bytes()
                    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except (OSError, ValueError, IndexError):
                    continue
                ours.add(pid)
                self.seen.setdefault((pid, line), password in environment)

    @property
    def command_lines(self) -> list[bytes]:
        return [line for _, line in self.seen]

    def stop(self) -> None:
        self._finished.set()
        self.join()


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(database_url) as relay:
        yield relay


async def failure_of(call: Callable[[], Awaitable[object]]) -> GameDBError:
    with pytest.raises(GameDBError) as caught:
        await call()
    return caught.value


async def test_the_password_never_shows(
    database_url: str, pg_admin_url: str, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("gamedb", "asyncpg", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    closed_port = unused_port()
    nowhere = f"postgresql://postgres:{SENTINEL}@127.0.0.1:{closed_port}/gamedb"
    errors: dict[str, GameDBError] = {}
    shown: list[str] = []

    errors["wrong port"] = await failure_of(lambda: Database.connect(nowhere))
    assert isinstance(errors["wrong port"], ConnectionFailed)

    proxy.reset()
    errors["reset during connect"] = await failure_of(
        lambda: Database.connect(proxy.route(database_url, password=SENTINEL))
    )
    assert isinstance(errors["reset during connect"], TransientError)
    proxy.pass_through()

    missing = with_database(database_url, f"no_such_db_{uuid.uuid4().hex[:8]}")
    errors["bad database name"] = await failure_of(
        lambda: Database.connect(proxy.route(missing, password=SENTINEL))
    )
    errors["bad port number"] = await failure_of(
        lambda: Database.connect(nowhere.replace(str(closed_port), "port"))
    )
    assert isinstance(errors["bad port number"], ConfigurationError)
    errors["bad scheme"] = await failure_of(
        lambda: Database.connect(nowhere.replace("postgresql", "mysql"))
    )
    errors["bad setting"] = await failure_of(
        lambda: Database.connect(nowhere, db_pool_size=0, db_command_timeout=-1)
    )
    errors["migrate, unreachable"] = await failure_of(lambda: migrate(nowhere))
    errors["dbmate, unreachable"] = await failure_of(lambda: migrate(nowhere, lock=False))
    assert isinstance(errors["dbmate, unreachable"], MigrationError)
    errors["migration status, unreachable"] = await failure_of(lambda: migration_status(nowhere))

    db = await Database.connect(
        proxy.route(database_url, password=SENTINEL), retry=RetryPolicy(max_attempts=2)
    )
    try:
        assert await db.get_game(uuid.uuid4()) is None  # logged at DEBUG
        shown += [repr(db), str(db), db.url, repr(db.pool)]
        proxy.reset()  # retried once, then fails: both logged
        errors["reset mid-operation"] = await failure_of(lambda: db.get_game(uuid.uuid4()))
        proxy.pass_through()
    finally:
        await db.close()
    settings = Settings.load(database_url=nowhere)
    shown += [repr(settings), str(settings), settings.model_dump_json()]

    # dbmate against a real server with the password in the URL, watched from /proc.
    target = with_database(database_url, f"gamedb_secret_{uuid.uuid4().hex[:8]}")
    watcher = CommandLines()
    watcher.start()
    try:
        shown.append(await migrate(proxy.route(target, password=SENTINEL)))
    finally:
        watcher.stop()
        admin = await asyncpg.connect(pg_admin_url)
        try:
            name = urllib.parse.urlsplit(target).path.lstrip("/")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    dbmate_runs = [key for key in watcher.seen if b"dbmate" in key[1]]
    assert dbmate_runs, "the watcher must have seen dbmate run"
    assert all(watcher.seen[key] for key in dbmate_runs), "the password travels in PGPASSWORD"
    for kind, error in errors.items():
        shown += [f"{kind}: {text}" for text in texts_of(error)]
    formatter = logging.Formatter()
    shown += [formatter.format(record) for record in caplog.records]
    shown += [line.decode(errors="replace") for line in watcher.command_lines]
    print(
        f"\nsecrets: {len(errors)} failure paths, {len(caplog.records)} log records, "
        f"{len(watcher.seen)} child command lines ({len(dbmate_runs)} of dbmate) checked"
    )
    leaks = [text for text in shown if SENTINEL in text]
    assert leaks == []


@pytest.mark.parametrize("mark", ["#", "?", "/", "#?/@"])
async def test_a_password_with_unencoded_url_characters_never_shows(
    mark: str, tmp_path: Path
) -> None:
    """``#``, ``?`` and ``/`` end the user part for a URL parser, which would then show the
    rest of the password as the fragment, query or path."""
    password = f"leakA{mark}leakB{mark}leakC"
    url = f"postgresql://postgres:{password}@127.0.0.1:{unused_port()}/gamedb"
    shown: list[str] = []
    for call in (
        lambda: Database.connect(url),
        lambda: migrate(url),
    ):
        error = await failure_of(call)
        assert isinstance(error, ConfigurationError)
        assert "percent-encode" in str(error)
        shown += texts_of(error)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(database_url=url)
    shown += texts_of(caught.value)
    assert [text for text in shown if "leak" in text] == []


@pytest.mark.parametrize("mark", ["#", "?", "/"])
def test_the_command_never_shows_such_a_password(mark: str, tmp_path: Path) -> None:
    url = f"postgresql://postgres:leakA{mark}leakB@127.0.0.1:{unused_port()}/gamedb"
    command = subprocess.run(
        [str(Path(sys.executable).parent / "gamedb"), "status"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert command.returncode != 0
    assert "percent-encode" in command.stderr
    assert "leak" not in command.stdout + command.stderr
