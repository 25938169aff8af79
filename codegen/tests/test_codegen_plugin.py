"""The process protocol: stdin request → stdout response or stderr error; and pruning."""

from __future__ import annotations

import base64
import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gamedb_codegen import plugin
from gamedb_codegen.prune import main as prune_main
from gamedb_codegen.prune import prune

SCRIPT = Path(sys.executable).parent / "sqlc-gen-gamedb"


def test_run_writes_base64_files(basic_request: dict[str, Any]) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = plugin.run(
        ["sqlc-gen-gamedb", plugin.GENERATE_METHOD],
        io.StringIO(json.dumps(basic_request)),
        stdout,
        stderr,
    )
    assert status == 0
    assert stderr.getvalue() == ""
    response = json.loads(stdout.getvalue())
    files = {f["name"]: base64.b64decode(f["contents"]).decode() for f in response["files"]}
    assert files == dict(plugin.generate(basic_request))


def test_run_reports_errors_on_stderr_only(errors_request: dict[str, Any]) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = plugin.run(["x"], io.StringIO(json.dumps(errors_request)), stdout, stderr)
    assert status == 1
    assert stdout.getvalue() == ""
    assert stderr.getvalue() == (
        "sqlc-gen-gamedb: errors.sql: query LastId: :execlastid: PostgreSQL has no last "
        "insert id; use RETURNING with :one\n"
    )


def test_run_rejects_protobuf_input() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = plugin.run(["x"], io.StringIO("\x0a\x03abc"), stdout, stderr)
    assert status == 1
    assert "format: json" in stderr.getvalue()
    assert stdout.getvalue() == ""


def test_run_rejects_unknown_method() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    assert plugin.run(["x", "/other/Method"], io.StringIO("{}"), stdout, stderr) == 2


def test_main_exits_with_status(
    monkeypatch: pytest.MonkeyPatch, errors_request: dict[str, Any]
) -> None:
    monkeypatch.setattr(sys, "argv", ["sqlc-gen-gamedb"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(errors_request)))
    with pytest.raises(SystemExit) as info:
        plugin.main()
    assert info.value.code == 1


def test_console_script_with_cleared_environment(basic_request: dict[str, Any]) -> None:
    # sqlc runs the plugin with an empty environment
    result = subprocess.run(
        [str(SCRIPT), plugin.GENERATE_METHOD],
        input=json.dumps(basic_request),
        capture_output=True,
        text=True,
        env={},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = [f["name"] for f in json.loads(result.stdout)["files"]]
    assert names == [name for name, _ in plugin.generate(copy.deepcopy(basic_request))]


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_prune_removes_only_unlisted_python_files(tmp_path: Path) -> None:
    pkg = tmp_path / "gen" / "pkg"
    _write(pkg / "MANIFEST", "pkg/MANIFEST\npkg/__init__.py\npkg/games.py\n")
    keep = [_write(pkg / "__init__.py"), _write(pkg / "games.py"), _write(pkg / "notes.txt")]
    cache = _write(pkg / "__pycache__" / "old.py")
    stale = _write(pkg / "old_games.py")
    other = _write(tmp_path / "gen" / "unmanaged" / "x.py")  # no MANIFEST: left alone
    assert prune(tmp_path / "gen") == [stale]
    assert not stale.exists()
    assert all(p.exists() for p in [*keep, cache, other])


def test_prune_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = tmp_path / "pkg"
    _write(pkg / "MANIFEST", "pkg/MANIFEST\n")
    _write(pkg / "stale.py")
    assert prune_main([str(tmp_path)]) == 0
    assert "removed stale" in capsys.readouterr().out
    assert prune_main([]) == 2
    assert prune_main([str(tmp_path / "missing")]) == 2
    result = subprocess.run(
        [sys.executable, "-m", "gamedb_codegen.prune", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
