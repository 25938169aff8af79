"""Delete generated modules that the last ``sqlc generate`` no longer wrote.

sqlc never deletes files, so renaming ``games.sql`` leaves a stale ``games.py`` behind. The
plugin writes ``<package>/MANIFEST`` listing every file it generated; this removes any
``*.py`` in the package directories (and empty ``__pycache__`` leftovers are ignored) that
the manifest does not list.

Usage: ``python -m gamedb_codegen.prune <out_dir>`` (sqlc's ``out`` directory, e.g. ``gen``).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["main", "prune"]


def prune(out_dir: Path) -> list[Path]:
    """Remove stale ``*.py`` files under every ``<out_dir>/<package>/MANIFEST``'s package.

    Returns the removed paths (sorted). A package directory without a MANIFEST is left alone.
    """
    removed: list[Path] = []
    for manifest in sorted(out_dir.glob("*/MANIFEST")):
        listed = {
            (out_dir / line.strip()).resolve()
            for line in manifest.read_text().splitlines()
            if line.strip()
        }
        package = manifest.parent
        for path in sorted(package.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            if path.resolve() not in listed:
                path.unlink()
                removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints each removed file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gamedb_codegen.prune <out_dir>", file=sys.stderr)
        return 2
    out_dir = Path(args[0])
    if not out_dir.is_dir():
        print(f"prune: {out_dir} is not a directory", file=sys.stderr)
        return 2
    for path in prune(out_dir):
        print(f"removed stale {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
