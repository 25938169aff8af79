"""gamedb as a deployment installs it: from the wheel, into a venv of its own, run from a
folder outside the repository (the session fixture ``installed_gamedb`` builds it once)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

__all__ = ["InstalledGamedb"]


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
