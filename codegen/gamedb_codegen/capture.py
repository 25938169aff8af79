"""Capture the JSON request sqlc sends to this plugin, for test fixtures and debugging.

``python -m gamedb_codegen.capture <project_dir> <output.json>`` runs ``sqlc generate`` in
``project_dir`` (its sqlc.yaml must name the plugin ``cmd: sqlc-gen-gamedb``) with a stand-in
plugin that saves the request instead of generating code, and writes the request with the
catalog trimmed to the default schema (``pg_catalog`` and ``information_schema`` alone make
a request megabytes large). The stand-in returns no files, so nothing is written into
``project_dir``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["capture_request", "main", "sqlc_executable", "trim_catalog"]

_DUMPER = """\
#!{python}
import sys
with open({target!r}, "w") as f:
    f.write(sys.stdin.read())
sys.stdout.write('{{"files": []}}')
"""


def sqlc_executable() -> str:
    """The sqlc next to the running Python (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / "sqlc"
    if local.exists():
        return str(local)
    found = shutil.which("sqlc")
    if found is None:
        raise FileNotFoundError("sqlc not found next to the Python executable or on PATH")
    return found


def trim_catalog(request: dict[str, Any]) -> dict[str, Any]:
    """The request with only the catalog's default schema kept."""
    catalog = request.get("catalog") or {}
    default = catalog.get("default_schema") or "public"
    schemas = [s for s in catalog.get("schemas") or [] if s.get("name") in ("", default)]
    return {**request, "catalog": {**catalog, "schemas": schemas}}


def capture_request(project_dir: Path) -> dict[str, Any]:
    """Run sqlc in ``project_dir`` and return the (trimmed) request it sent to the plugin."""
    with tempfile.TemporaryDirectory(prefix="sqlc-capture-") as tmp:
        tmp_path = Path(tmp)
        target = tmp_path / "request.json"
        dumper = tmp_path / "bin" / "sqlc-gen-gamedb"
        dumper.parent.mkdir()
        dumper.write_text(_DUMPER.format(python=sys.executable, target=str(target)))
        dumper.chmod(0o755)
        env = {**os.environ, "PATH": f"{dumper.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        result = subprocess.run(
            [sqlc_executable(), "generate"],
            cwd=project_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(f"sqlc generate failed:\n{result.stderr}{result.stdout}")
        request: dict[str, Any] = json.loads(target.read_text())
    return trim_catalog(request)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m gamedb_codegen.capture <project_dir> <output.json>", file=sys.stderr
        )
        return 2
    request = capture_request(Path(args[0]))
    Path(args[1]).write_text(json.dumps(request, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
