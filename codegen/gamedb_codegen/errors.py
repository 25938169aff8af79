"""The one error type the plugin raises for anything it refuses to generate."""

from __future__ import annotations

__all__ = ["GenerateError"]


class GenerateError(Exception):
    """A problem that stops code generation, located by query file and query name.

    ``str(error)`` is the line printed to stderr:
    ``sqlc-gen-gamedb: <file>: query <Name>: <message>``.
    """

    def __init__(self, message: str, *, filename: str = "", query: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.query = query

    def __str__(self) -> str:
        parts = ["sqlc-gen-gamedb"]
        if self.filename:
            parts.append(self.filename)
        if self.query:
            parts.append(f"query {self.query}")
        parts.append(self.message)
        return ": ".join(parts)
