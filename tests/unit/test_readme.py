"""The README's static promises: it has its examples, and its "How it is built" table names
every folder and package. tests/integration/test_readme_examples.py runs the examples."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
EXAMPLES = [block for block in PYTHON_BLOCKS if "def test_" not in block]


def test_the_readme_has_its_examples() -> None:
    assert len(EXAMPLES) >= 4
    assert "db.transaction()" in README
    assert "run_in_transaction" in README
    assert ". .venv/bin/activate" in README.split("gamedb show")[0]


def test_how_it_is_built_names_every_folder_and_package() -> None:
    root = Path(__file__).resolve().parents[2]
    built = README.split("## How it is built")[1].split("\n## ")[0]
    rows = {row.split("`")[1].split("/")[0] for row in built.splitlines() if row.startswith("| `")}
    folders = {
        path.name
        for path in root.iterdir()
        if path.is_dir()
        and not path.name.startswith((".", "__"))
        and path.name not in {"build", "dist"}
        and not path.name.endswith(".egg-info")
    }
    assert folders <= rows
    assert all((root / row).exists() for row in rows)
    shipped = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    )
    layers = set(re.findall(r"^(gamedb\w*) ", built, re.M))
    assert {name for name in shipped if "." not in name} | {"gamedb_codegen"} == layers
