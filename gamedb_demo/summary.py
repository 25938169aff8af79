"""The demo's summary as the ``gamedb demo`` command prints it: what was played, how fast
it was written, how fast recovered, and the verdict::

    report = await run_demo(db, games=20, seed=7)
    print(demo_summary(report))
"""

from __future__ import annotations

from gamedb.views import count, printable
from gamedb_demo.run import DemoReport
from gamedb_gen.models import League

__all__ = ["demo_summary"]


def demo_summary(report: DemoReport) -> str:
    """The demo's figures and verdict, one line each, then any differences found."""
    metrics = report.persister
    recovery = report.recovery_seconds
    rows = [
        (
            "Played",
            f"{count(len(report.records), 'game')} ({report.games_of(League.SBA):,} SBA, "
            f"{report.games_of(League.PD):,} PD) from seed {report.seed}: "
            f"{count(report.plays, 'play')}, {count(report.rolls, 'dice roll')}, "
            f"{count(report.substitutions, 'substitution')}, {count(report.undos, 'undo')}",
        ),
        (
            "Wrote",
            f"{count(report.handoffs, 'write')} through the write-behind persister in "
            f"{report.play_seconds:.2f} s: {report.writes_per_second:,.0f} writes/s, "
            f"{count(metrics.transactions, 'transaction')} ({metrics.mean_group_size:.0f} "
            f"writes each on average), {count(metrics.retries, 'retry')}",
        ),
        (
            "Recovered",
            f"{count(len(recovery), 'game')} with load_game_state(include_rolls=True): "
            f"{report.recovery_median * 1000:.1f} ms per game (median), "
            f"{max(recovery, default=0.0) * 1000:.1f} ms at most",
        ),
    ]
    if report.verified:
        verdict = (
            "PASS — every recovered game equals the game played: state, plays, lineups, "
            "roster, rolls and session"
        )
    else:
        verdict = (
            f"FAIL — {len(report.differences):,} of {count(len(report.records), 'game')} differ"
        )
    rows.append(("Verified", verdict))
    text = "\n".join(f"{label:<10} {value}" for label, value in rows)
    for game_id, found in report.differences.items():
        text += "".join(f"\n  game {game_id}: {printable(problem)}" for problem in found)
    return text
