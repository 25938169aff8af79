"""``python -m benchmarks`` (``make bench``): run every row, print the table, write the JSON,
and exit 1 when a budget is missed::

    python -m benchmarks                              # the defaults, about a minute on 2 cores
    python -m benchmarks --iterations 5000 --games 400 --memory-games 400 4000
    DATABASE_URL=postgresql://bench@db/games python -m benchmarks --output /tmp/run.json
    python -m benchmarks --citus                      # the Citus cluster vs the embedded server
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.progress import Progress
from benchmarks.report import Report, render_table, write_json
from benchmarks.runner import plan_units, run_benchmarks
from benchmarks.scale import Scale

__all__ = ["main", "publish"]

RESULTS = Path(__file__).resolve().parent / "results.json"


def _parser() -> argparse.ArgumentParser:
    defaults = Scale()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure every budget of benchmarks/README.md against raw asyncpg in the "
        "same run. Uses DATABASE_URL's server when set, else the embedded one.",
    )

    def count(flag: str, default: int, text: str) -> None:
        parser.add_argument(flag, type=int, default=default, metavar="N", help=text)

    count("--iterations", defaults.iterations, "timed pairs of the single-write rows")
    count("--warmup", defaults.warmup, "untimed pairs before each timed series")
    count("--plays", defaults.plays, "plays of the game load_game_state recovers")
    count("--games", defaults.games, "concurrent games of the write-behind comparison")
    count("--game-plays", defaults.game_plays, "plays per game and round of that comparison")
    count("--rounds", defaults.rounds, "rounds of that comparison")
    parser.add_argument(
        "--memory-games",
        type=int,
        nargs=2,
        default=defaults.memory_games,
        metavar=("SMALL", "LARGE"),
        help="game counts of the two memory runs",
    )
    count("--memory-queue", defaults.memory_queue, "the persister's queue limit in those runs")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})"
    )
    parser.add_argument(
        "--citus",
        action="store_true",
        help="instead: per-operation latency and persister throughput on the Citus cluster of "
        "`make citus` against the embedded server (--iterations calls per operation)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; 0 when every budget held, 1 when one was missed."""
    args = _parser().parse_args(argv)
    if args.citus:
        from benchmarks.citus import run_citus_comparison

        print(asyncio.run(run_citus_comparison(args.iterations)))
        return 0
    scale = Scale(
        iterations=args.iterations,
        warmup=args.warmup,
        plays=args.plays,
        games=args.games,
        game_plays=args.game_plays,
        rounds=args.rounds,
        memory_games=(args.memory_games[0], args.memory_games[1]),
        memory_queue=args.memory_queue,
    )
    report = asyncio.run(run_benchmarks(scale, progress=Progress(plan_units(scale))))
    return publish(report, args.output)


def publish(report: Report, output: Path) -> int:
    """Print the table, write the JSON to ``output``; 1 when a budget was missed, else 0."""
    print(render_table(report.rows))
    machine = report.machine
    print(
        f"\n{report.date}  {machine['cores']} cores  PostgreSQL {machine['postgresql']} "
        f"({machine['server']})  {report.seconds:.0f} s"
    )
    write_json(report, output)
    failed = [row.operation for row in report.rows if row.passed is False]
    if failed:
        print(f"budget missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
