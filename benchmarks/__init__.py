"""gamedb's benchmark harness: every budget (the rows of benchmarks/README.md) measured
against raw asyncpg in the same run, on the same pool (``make bench``, or
``python -m benchmarks --help``)::

    from benchmarks import Scale, run_benchmarks
    from benchmarks.progress import Progress
    from benchmarks.runner import plan_units

    scale = Scale.tiny()
    report = await run_benchmarks(scale, progress=Progress(plan_units(scale)))
    report.passed
"""

from benchmarks.runner import run_benchmarks
from benchmarks.scale import Scale

__all__ = ["Scale", "run_benchmarks"]
