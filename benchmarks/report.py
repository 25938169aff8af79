"""Rows of a benchmark run, their budgets and verdicts, as a table and as JSON.

Each :class:`Row` is one operation measured against its baseline in the same run; its
:class:`Budget` (as benchmarks/README.md lists them) decides the verdict::

    row = Row("save_play", unit="ms", p50=0.50, p99=0.77, baseline="raw INSERT … RETURNING id",
              baseline_p50=0.48, budget=Budget("ratio_at_most", 1.3), samples=1000)
    print(render_table([row]))
    write_json(report, Path("benchmarks/results.json"))   # stable key order, rounded figures
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from benchmarks.timing import Samples

__all__ = ["Budget", "Report", "Row", "render_table", "write_json"]

BudgetKind = Literal["ratio_at_most", "ratio_at_least", "p99_at_most"]
Figure = float | int | str


def _rounded(value: float) -> float:
    return float(f"{value:.4g}")


@dataclasses.dataclass(frozen=True, slots=True)
class Budget:
    """A limit on a row's ratio to its baseline, or on its own p99."""

    kind: BudgetKind
    limit: float

    def met(self, row: Row) -> bool:
        if self.kind == "p99_at_most":
            return row.p99 is not None and row.p99 <= self.limit
        if row.ratio is None:
            return False
        if self.kind == "ratio_at_most":
            return row.ratio <= self.limit
        return row.ratio >= self.limit

    def describe(self, unit: str) -> str:
        if self.kind == "p99_at_most":
            return f"p99 ≤ {self.limit:g} {unit}"
        return f"{'≤' if self.kind == 'ratio_at_most' else '≥'} {self.limit:g}x"


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """One measured operation. ``p50``/``p99`` are in ``unit`` (a throughput has no p99);
    ``ratio`` is ``p50 / baseline_p50``; ``details`` holds supporting figures."""

    operation: str
    unit: str
    p50: float
    p99: float | None
    baseline: str
    baseline_p50: float | None
    budget: Budget | None
    samples: int
    details: Mapping[str, Figure] = dataclasses.field(default_factory=dict)

    @classmethod
    def timed(
        cls,
        operation: str,
        candidate: Samples,
        baseline: Samples,
        *,
        baseline_name: str,
        budget: Budget,
        details: Mapping[str, Figure] | None = None,
    ) -> Row:
        """A latency row (milliseconds) from the interleaved samples of both sides."""
        return cls(
            operation=operation,
            unit="ms",
            p50=candidate.p50 * 1e3,
            p99=candidate.p99 * 1e3,
            baseline=baseline_name,
            baseline_p50=baseline.p50 * 1e3,
            budget=budget,
            samples=len(candidate),
            details={"baseline_p99": baseline.p99 * 1e3, **(details or {})},
        )

    @property
    def ratio(self) -> float | None:
        if not self.baseline_p50:
            return None
        return self.p50 / self.baseline_p50

    @property
    def passed(self) -> bool | None:
        """Whether the budget was met; ``None`` for a row without one."""
        return None if self.budget is None else self.budget.met(self)

    @property
    def verdict(self) -> str:
        return {None: "-", True: "pass", False: "FAIL"}[self.passed]

    def to_json(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "unit": self.unit,
            "p50": _rounded(self.p50),
            "p99": None if self.p99 is None else _rounded(self.p99),
            "baseline": self.baseline,
            "baseline_p50": None if self.baseline_p50 is None else _rounded(self.baseline_p50),
            "ratio": None if self.ratio is None else _rounded(self.ratio),
            "budget": None if self.budget is None else self.budget.describe(self.unit),
            "verdict": self.verdict,
            "samples": self.samples,
            "details": {
                key: _rounded(value) if isinstance(value, float) else value
                for key, value in self.details.items()
            },
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """A whole run: its rows, where and how it ran, and how long it took."""

    rows: tuple[Row, ...]
    date: str
    machine: Mapping[str, Figure]
    scale: Mapping[str, object]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(row.passed is not False for row in self.rows)

    def to_json(self) -> dict[str, object]:
        return {
            "date": self.date,
            "machine": dict(self.machine),
            "scale": dict(self.scale),
            "seconds": round(self.seconds, 1),
            "passed": self.passed,
            "rows": [row.to_json() for row in self.rows],
        }


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.3f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:,.0f} {unit}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.01x" if value < 0.01 else f"{value:.2f}x"


def render_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table: operation, p50, p99, baseline p50, ratio, budget,
    verdict."""
    header = ("operation", "p50", "p99", "baseline p50", "ratio", "budget", "verdict")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.operation,
                _figure(row.p50, row.unit),
                _figure(row.p99, row.unit),
                _figure(row.baseline_p50, row.unit),
                _ratio(row.ratio),
                "-" if row.budget is None else row.budget.describe(row.unit),
                row.verdict,
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = []
    for number, line in enumerate(lines):
        cells = [
            cell.ljust(width) if column in (0, 5, 6) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        rendered.append("  ".join(cells).rstrip())
        if number == 0:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def write_json(report: Report, path: Path) -> None:
    """Write the report to ``path`` (through a temporary file, so a crash leaves the last
    good one): indented, keys sorted, figures rounded to four significant digits."""
    text = json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
