"""The demo of ``gamedb demo``: simulated games played through gamedb, recovered and verified.

Not part of the library: ``gamedb`` never imports it (the ``demo`` command loads it when it
runs), and the benchmarks and tests use its games::

    from gamedb_demo.simulation import GameSimulation   # pure game logic, no I/O
    from gamedb_demo.run import run_demo                 # play, recover, compare
    from gamedb_demo.verify import compare               # a recovered game against the played
    from gamedb_demo.summary import demo_summary         # the command's report
"""
