"""The project's tests use gamedb's own pytest plugin (:mod:`gamedb.testing`): each test gets
a database cloned from a template migrated once per session, on ``GAMEDB_TEST_DATABASE_URL``'s
server, a testcontainers ``postgres`` when ``GAMEDB_TEST_BACKEND=docker``, else the embedded
server. The fixtures below are the short names the suites use, and gamedb as a deployment
installs it (from the wheel, into a venv of its own) for the tests of the command.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from gamedb import Database

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


@dataclasses.dataclass(frozen=True, slots=True)
class InstalledGamedb:
    """gamedb installed from its wheel, with the ``migrate`` extra only, into a venv of its
    own outside the repository: what a deployment runs."""

    wheel: Path
    venv: Path
    home: Path
    """An empty working folder outside the repository (no ``.env``, no ``.gamedb/``)."""

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(
        self, *args: str, url: str | None, input: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``gamedb ARGS`` as the installed command, with ``DATABASE_URL=url`` (unset for
        ``None``) and nothing else of gamedb's settings from this environment."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "GAMEDB_", "DB_", "VIRTUAL_ENV", "PYTHON"))
        }
        if url is not None:
            environment["DATABASE_URL"] = url
        environment.update(env)
        return subprocess.run(
            [str(self.venv / "bin" / "gamedb"), *args],
            cwd=self.home,
            env=environment,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


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
