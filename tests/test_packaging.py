"""The wheel installs into a clean environment and puts no generic module on sys.path."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_imports_without_a_top_level_gen(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("gamedb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"gamedb", "gamedb_gen", "gamedb_codegen"}
    assert any(name.startswith("gamedb/migrations/") and name.endswith(".sql") for name in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    probe = (
        "import importlib.util, gamedb, gamedb.migrate\n"
        "from gamedb import Database, GameSnapshot, League\n"
        "from gamedb_gen import plays\n"
        "assert importlib.util.find_spec('gen') is None\n"
        "assert (gamedb.migrate.migrations_dir() / '20261127000002_create_games.sql').exists()\n"
        "print(League.PD.value, Database.__name__)\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pd Database"
