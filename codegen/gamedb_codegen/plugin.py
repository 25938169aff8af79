"""Entry point of the ``sqlc-gen-gamedb`` process plugin.

sqlc runs ``sqlc-gen-gamedb /plugin.CodegenService/Generate`` with the JSON request on stdin
and reads ``{"files": [{"name": ..., "contents": <base64>}]}`` from stdout. On any error the
plugin writes nothing to stdout, prints one line to stderr and exits with status 1, so sqlc
reports the message and writes no files.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import IO, Any

from .errors import GenerateError
from .options import parse_options
from .plan import build_plan
from .render import render_package
from .request import parse_request

__all__ = ["generate", "main", "run"]

GENERATE_METHOD = "/plugin.CodegenService/Generate"


def generate(request: dict[str, Any]) -> list[tuple[str, str]]:
    """Generate the package for a decoded JSON request: ``[(path, text)]`` sorted by path.

    Raises :class:`~gamedb_codegen.errors.GenerateError` for anything unsupported.
    """
    parsed = parse_request(request)
    options = parse_options(parsed.plugin_options)
    plan = build_plan(parsed, options)
    return [(f.name, f.contents) for f in render_package(plan)]


def encode_response(files: list[tuple[str, str]]) -> str:
    """The JSON response sqlc expects."""
    return json.dumps(
        {
            "files": [
                {"name": name, "contents": base64.b64encode(text.encode()).decode("ascii")}
                for name, text in files
            ]
        }
    )


def run(argv: list[str], stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    """Run one request; returns the exit status."""
    if len(argv) > 1 and argv[1] != GENERATE_METHOD:
        print(f"sqlc-gen-gamedb: unknown method {argv[1]!r}", file=stderr)
        return 2
    try:
        raw = json.loads(stdin.read())
        if not isinstance(raw, dict):
            raise GenerateError("request is not a JSON object (set format: json in sqlc.yaml)")
        files = generate(raw)
    except GenerateError as exc:
        print(str(exc), file=stderr)
        return 1
    except ValueError as exc:
        print(
            f"sqlc-gen-gamedb: cannot read the request ({exc}); set format: json for the "
            "plugin in sqlc.yaml",
            file=stderr,
        )
        return 1
    stdout.write(encode_response(files))
    stdout.flush()
    return 0


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run(sys.argv, sys.stdin, sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()
