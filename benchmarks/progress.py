"""A progress bar on stderr while the benchmarks run.

On a terminal the bar redraws in place (at most ten times a second); in a log it prints one
line as each phase starts, so CI output stays readable::

    progress = Progress(total=5000)
    progress.phase("save_play")
    progress.advance(1)
    progress.close()
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 30
_REDRAW_EVERY = 0.1


class Progress:
    """Units done out of ``total``, and the phase being measured."""

    __slots__ = ("_done", "_drawn_at", "_label", "_started", "_stream", "_total", "_tty")

    def __init__(self, total: int, *, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._total = max(total, 1)
        self._done = 0
        self._label = ""
        self._started = time.monotonic()
        self._drawn_at = 0.0

    def phase(self, label: str) -> None:
        """Name what is measured now."""
        self._label = label
        if self._tty:
            self._draw(force=True)
        else:
            self._stream.write(f"[{self._percent():3d}%] {label}\n")
            self._stream.flush()

    def advance(self, units: int = 1) -> None:
        self._done = min(self._total, self._done + units)
        if self._tty:
            self._draw()

    def close(self) -> None:
        elapsed = time.monotonic() - self._started
        if self._tty:
            self._stream.write("\r\x1b[2K")
        self._stream.write(f"benchmarks done in {elapsed:.0f} s\n")
        self._stream.flush()

    def _percent(self) -> int:
        return self._done * 100 // self._total

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < _REDRAW_EVERY:
            return
        self._drawn_at = now
        filled = self._done * _WIDTH // self._total
        bar = "#" * filled + "." * (_WIDTH - filled)
        elapsed = now - self._started
        self._stream.write(
            f"\r\x1b[2K[{bar}] {self._percent():3d}% {elapsed:4.0f} s  {self._label}"
        )
        self._stream.flush()
