"""The project's tests use gamedb's own pytest plugin (:mod:`gamedb.testing`): each test gets
a database cloned from a template migrated once per session, on ``GAMEDB_TEST_DATABASE_URL``'s
server, a testcontainers ``postgres`` when ``GAMEDB_TEST_BACKEND=docker``, else the embedded
server. The fixtures below are the short names the suites use, and gamedb as a deployment
installs it (from the wheel, into a venv of its own) for the tests of the command.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from gamedb import Database
from tests.installed import InstalledGamedb

ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def pg_admin_url(gamedb_server_url: str) -> str:
    """A superuser URL to the test server's ``postgres`` database."""
    return gamedb_server_url


@pytest.fixture
def database_url(gamedb_url: str) -> str:
    """URL of a migrated database of this test's own."""
    return gamedb_url


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
