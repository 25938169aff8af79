"""The generated files' formatting: the ruff pinned beside the plugin sorts their imports and
formats them, so the output is exactly what ``ruff check`` and ``ruff format --check`` accept::

    formatted = format_sources({"gamedb_gen/games.py": text})

ruff runs with its configuration files ignored and the house settings given here, so the output
does not depend on where sqlc runs, except in one respect that is wanted: ruff counts a module
found in the working directory (sqlc's, the project's root) as first-party when it sorts imports,
as the project's own ``ruff check`` does.
"""

from __future__ import annotations

import subprocess
import sysconfig
import tempfile
from pathlib import Path

from .errors import GenerateError

__all__ = ["LINE_LENGTH", "TARGET_VERSION", "format_sources"]

LINE_LENGTH = 100
TARGET_VERSION = "py311"
_SETTINGS = ("--isolated", "--no-cache", "--quiet", f"--line-length={LINE_LENGTH}")


def _ruff() -> Path:
    # The plugin runs with sqlc's cleared environment (no PATH): ruff is the one installed
    # beside it, as gamedb-codegen's pinned dependency.
    ruff = Path(sysconfig.get_path("scripts")) / "ruff"
    if not ruff.is_file():
        raise GenerateError(f"ruff is not installed beside the plugin (no {ruff})")
    return ruff


def format_sources(sources: dict[str, str]) -> dict[str, str]:
    """``sources`` (relative path → Python text) with imports sorted and formatted by ruff."""
    ruff = _ruff()
    with tempfile.TemporaryDirectory(prefix="sqlc-gen-gamedb-") as scratch:
        paths = {name: Path(scratch, name) for name in sources}
        for name, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(sources[name])
        files = [str(path) for path in paths.values()]
        target = f"--target-version={TARGET_VERSION}"
        for command in (
            [str(ruff), "check", *_SETTINGS, target, "--select=I", "--fix", *files],
            [str(ruff), "format", *_SETTINGS, target, *files],
        ):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                output = (done.stderr or done.stdout).strip()
                raise GenerateError(f"ruff {command[1]} failed on the generated code: {output}")
        return {name: path.read_text() for name, path in paths.items()}
