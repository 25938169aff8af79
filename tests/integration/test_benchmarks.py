"""The benchmark harness, run end to end at a tiny scale (seconds): every row is measured on a
scratch database of the test server and reported as a table and as JSON. The figures of so
small a run mean nothing; ``make bench`` is what holds gamedb to the budgets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import asyncpg
import pytest

from benchmarks import Scale, run_benchmarks
from benchmarks.cli import publish
from benchmarks.progress import Progress
from benchmarks.report import Budget, Report, Row, render_table
from benchmarks.runner import plan_units

OPERATIONS = [
    "save_play",
    "update_game_state",
    "load_game_state (20 plays)",
    "load_game_state (20 plays, 40 rolls)",
    "save_rolls_batch (3 rolls)",
    "save_rolls_batch (30 rolls)",
    "write-behind plays/s (4 games)",
    "write-behind hand-off (4 games)",
    "write-behind plays/s (4 games, full mix)",
    "write-behind plays/s vs raw ceiling (4 games, full mix)",
    "write-behind hand-off (4 games, full mix)",
    "write-behind peak RSS (2 games)",
    "write-behind peak RSS (4 games)",
    "write-behind peak RSS, 4 vs 2 games",
]


async def _bench_databases(admin_url: str) -> set[str]:
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'gamedb_bench_%'"
        )
    finally:
        await conn.close()
    return {row["datname"] for row in rows}


async def test_a_tiny_run_measures_and_reports_every_row(
    pg_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_admin_url)
    databases_before = await _bench_databases(pg_admin_url)
    scale = Scale.tiny()
    progress_log = io.StringIO()

    report = await run_benchmarks(scale, progress=Progress(plan_units(scale), stream=progress_log))

    assert [row.operation for row in report.rows] == OPERATIONS
    for row in report.rows:
        assert row.p50 > 0, row
        assert row.baseline_p50 is not None and row.baseline_p50 > 0, row
    by_name = {row.operation: row for row in report.rows}
    assert by_name["save_play"].samples == scale.iterations
    assert by_name["write-behind hand-off (4 games)"].samples == 4 * scale.game_plays
    memory = by_name["write-behind peak RSS, 4 vs 2 games"].details
    assert memory["queue_limit"] == scale.memory_queue
    waits = memory["handoff_waits"]
    assert isinstance(waits, int) and waits > 0, "the memory runs must fill the persister's queue"
    assert report.machine["server"] == "DATABASE_URL"
    assert "save_play" in progress_log.getvalue()
    assert "benchmarks done" in progress_log.getvalue()
    assert await _bench_databases(pg_admin_url) == databases_before

    output = tmp_path / "results.json"
    publish(report, output)
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "operation",
        "p50",
        "p99",
        "baseline",
        "p50",
        "ratio",
        "budget",
        "verdict",
    ]
    assert all(name in table for name in OPERATIONS)
    text = output.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert [row["operation"] for row in data["rows"]] == OPERATIONS
    assert data["scale"]["iterations"] == scale.iterations
    assert data["passed"] == report.passed


def _row(operation: str, p50: float, baseline: float, budget: Budget | None) -> Row:
    return Row(
        operation=operation,
        unit="ms",
        p50=p50,
        p99=p50 * 2,
        baseline="raw",
        baseline_p50=baseline,
        budget=budget,
        samples=1,
    )


def test_budgets_decide_verdicts_and_a_missed_one_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at_most = Budget("ratio_at_most", 1.3)
    at_least = Budget("ratio_at_least", 3.0)
    p99 = Budget("p99_at_most", 1.0)
    assert _row("a", 1.3, 1.0, at_most).passed is True
    assert _row("a", 1.4, 1.0, at_most).passed is False
    assert _row("b", 3.0, 1.0, at_least).passed is True
    assert _row("b", 2.9, 1.0, at_least).passed is False
    assert _row("c", 0.5, 9.0, p99).passed is True
    assert _row("c", 0.6, 9.0, p99).passed is False
    assert _row("d", 9.0, 1.0, None).verdict == "-"

    def report(*rows: Row) -> Report:
        return Report(
            rows=rows,
            date="2026-01-01",
            machine={"cores": 2, "postgresql": "18", "server": "embedded"},
            scale={},
            seconds=1.0,
        )

    passing = report(_row("a", 1.0, 1.0, at_most), _row("d", 9.0, 1.0, None))
    failing = report(_row("a", 1.0, 1.0, at_most), _row("b", 2.0, 1.0, at_least))
    assert publish(passing, tmp_path / "pass.json") == 0
    assert publish(failing, tmp_path / "fail.json") == 1
    assert "budget missed: b" in capsys.readouterr().err
    assert json.loads((tmp_path / "fail.json").read_text())["passed"] is False
    assert "FAIL" in render_table(failing.rows)
