"""``python -m gamedb``: the ``gamedb`` command (see :mod:`gamedb.cli`)."""

from gamedb.cli import main

main()
