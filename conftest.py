"""The project's tests use gamedb's own pytest plugin (:mod:`gamedb.testing`): each test gets
a database cloned from a template migrated once per session, on ``GAMEDB_TEST_DATABASE_URL``'s
server, a testcontainers ``postgres`` when ``GAMEDB_TEST_BACKEND=docker``, else the embedded
server. The fixtures below are the short names the suites use, and gamedb as a deployment
installs it (from the wheel, into a venv of its own) for the tests of the command.

With ``GAMEDB_TEST_BACKEND=citus`` (``make test-citus``) the server is the Citus cluster of
``make citus``. Citus does not propagate CREATE DATABASE, so there the template is one
distributed database (created on every node, migrated, distributed) that each test gets
emptied instead of cloned; tests marked ``single_server(reason)`` are skipped there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import venv
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from gamedb import Database
from gamedb.citus import distribute
from gamedb.migrate import migrate
from gamedb_schema.scratch import create_database, drop_database
from gamedb_schema.urls import with_database
from tests.installed import InstalledGamedb

ROOT = Path(__file__).resolve().parent

ON_CITUS = os.environ.get("GAMEDB_TEST_BACKEND") == "citus"
"""Whether the suite runs on the Citus cluster (``make test-citus``)."""


UNIT_CODEGEN_TESTS = frozenset(
    {
        "test_codegen_errors.py",
        "test_codegen_generate.py",
        "test_codegen_plugin.py",
        "test_codegen_units.py",
    }
)
"""The code generator's tests that need no database (captured requests, pure functions); its
others run sqlc or the generated code against a real one."""


def tier(path: Path) -> str:
    """``unit`` (no server, milliseconds) or ``integration`` (a real PostgreSQL), by where
    the test lives: tests/unit, tests/integration, or codegen/tests by file."""
    relative = path.relative_to(ROOT).parts
    if relative[:2] == ("tests", "unit"):
        return "unit"
    if relative[:2] == ("tests", "integration"):
        return "integration"
    if relative[:2] == ("codegen", "tests"):
        return "unit" if path.name in UNIT_CODEGEN_TESTS else "integration"
    raise pytest.UsageError(f"{path}: a test belongs in tests/unit, tests/integration or codegen")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m unit`` the integration modules are not imported at all: collecting them
    would take longer than running the fast tier."""
    if config.getoption("markexpr") != "unit":
        return None
    if collection_path == ROOT / "tests" / "integration":
        return True
    if collection_path.parent == ROOT / "codegen" / "tests" and collection_path.name.startswith(
        "test_"
    ):
        return tier(collection_path) == "integration"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test ``unit`` or ``integration`` (:func:`tier`); on Citus, skip the tests
    marked ``single_server(reason)``, giving their reason."""
    for item in items:
        item.add_marker(tier(item.path))
    if not ON_CITUS:
        return
    for item in items:
        marker = item.get_closest_marker("single_server")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"single server only: {marker.args[0]}"))


async def create_distributed_database(name: str) -> str:
    """A fresh database on the Citus cluster: on every node with the extension, the workers
    added, migrated through the coordinator and distributed; returns its URL."""
    from devtools.citus_cluster import create_database, running_cluster

    url = await create_database(running_cluster(), name)
    conn = await asyncpg.connect(url)
    try:
        # Four shards, two per worker, instead of 32: the same routing and co-location, and
        # emptying the tables for every test takes a fraction of the time.
        await conn.execute(f'ALTER DATABASE "{name}" SET citus.shard_count = 4')
    finally:
        await conn.close()
    await migrate(url)
    await distribute(url)
    return url


async def drop_distributed_database(name: str) -> None:
    """Drop a database of :func:`create_distributed_database` from every node."""
    from devtools.citus_cluster import drop_database, running_cluster

    await drop_database(running_cluster(), name)


if ON_CITUS:
    # These override the fixtures of gamedb's pytest plugin of the same names.

    @pytest.fixture(scope="session")
    def gamedb_server_url() -> str:
        """The coordinator's ``postgres`` database."""
        from devtools.citus_cluster import running_cluster

        cluster = running_cluster()
        return cluster.url(cluster.coordinator, "postgres")

    @pytest.fixture(scope="session")
    async def gamedb_template() -> AsyncIterator[str]:
        """The one distributed database every test uses, emptied before each."""
        name = f"gamedb_template_{uuid.uuid4().hex[:10]}"
        await create_distributed_database(name)
        yield name
        await drop_distributed_database(name)

    @pytest.fixture
    async def gamedb_url(gamedb_server_url: str, gamedb_template: str) -> str:
        """The distributed database, emptied for this test."""
        url = with_database(gamedb_server_url, gamedb_template)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("TRUNCATE games, lineups, plays, roster_links, rolls, game_sessions")
        finally:
            await conn.close()
        return url


@pytest.fixture(scope="session")
def pg_admin_url(gamedb_server_url: str) -> str:
    """A superuser URL to the test server's ``postgres`` database."""
    return gamedb_server_url


@pytest.fixture
def database_url(gamedb_url: str) -> str:
    """URL of a migrated database of this test's own."""
    return gamedb_url


@pytest.fixture
async def other_database_url(gamedb_server_url: str, gamedb_template: str) -> AsyncIterator[str]:
    """URL of a second migrated database of this test's own, for tests comparing two."""
    if ON_CITUS:
        pytest.skip("the Citus cluster holds one distributed database per run")
    url = await create_database(gamedb_server_url, template=gamedb_template)
    yield url
    await drop_database(url)


@pytest.fixture
def db(gamedb_database: Database) -> Database:
    """A :class:`gamedb.Database` on this test's own database."""
    return gamedb_database


@pytest.fixture(scope="session")
def installed_gamedb(tmp_path_factory: pytest.TempPathFactory) -> InstalledGamedb:
    """The wheel built once per session and installed into a fresh venv (see
    :class:`InstalledGamedb`); the CLI and packaging tests share it."""
    root = tmp_path_factory.mktemp("installed")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = root.glob("gamedb-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{wheel}[migrate]",
        ],
        check=True,
        capture_output=True,
    )
    home = root / "home"
    home.mkdir()
    return InstalledGamedb(wheel=wheel, venv=env_dir, home=home)
