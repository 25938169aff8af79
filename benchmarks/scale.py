"""How much work a benchmark run does; the defaults finish in about a minute on 2 cores.

Every count can be raised from the command line for a larger machine (``python -m benchmarks
--help``); :meth:`Scale.tiny` is the seconds-long run the smoke test uses::

    scale = Scale(iterations=4000, games=400)
"""

from __future__ import annotations

import dataclasses

__all__ = ["Scale"]


@dataclasses.dataclass(frozen=True, slots=True)
class Scale:
    """Counts of one run (see the README for what each row does with them)."""

    iterations: int = 2000
    """Timed candidate/baseline pairs of ``save_play``, ``update_game_state`` and 10-roll
    batches; ``load_game_state`` takes a quarter as many, 1,000-roll batches a twentieth."""
    warmup: int = 100
    """Untimed pairs before each timed series (a tenth of that for the slow rows)."""
    plays: int = 300
    """Plays of the game ``load_game_state`` recovers."""
    small_rolls: int = 10
    large_rolls: int = 1000
    games: int = 100
    """Concurrent games of the write-behind comparison."""
    game_plays: int = 80
    """Plays each of those games hands over per round (a nine-inning game has about 75)."""
    rounds: int = 3
    """Write-behind rounds, persister and direct taking turns."""
    scale_games: int = 1000
    """Concurrent games of the write-behind run at scale (the engine's full mix)."""
    scale_plays: int = 24
    """Plays each of those games hands over per run (with a state after each, a roll batch
    each half inning and one substitution)."""
    scale_rounds: int = 3
    """Rounds of that run, each timing grouping across games, one game per transaction
    and the raw ceiling in turn."""
    memory_games: tuple[int, int] = (100, 1000)
    """Game counts of the two memory runs."""
    memory_queue: int = 2000
    """The persister's ``max_queued`` in the memory runs. Each game of both runs hands over
    enough plays for the smaller run to fill that queue three times over, so both runs meet
    the limit (a smaller queue than the default 10,000 only makes that happen sooner)."""

    @classmethod
    def tiny(cls) -> Scale:
        """A run of a few seconds that exercises every row (its figures mean nothing)."""
        return cls(
            iterations=20,
            warmup=2,
            plays=20,
            small_rolls=3,
            large_rolls=30,
            games=4,
            game_plays=3,
            rounds=1,
            scale_games=4,
            scale_plays=4,
            scale_rounds=1,
            memory_games=(2, 4),
            memory_queue=10,
        )

    @property
    def load_iterations(self) -> int:
        return max(1, self.iterations // 4)

    @property
    def large_roll_iterations(self) -> int:
        return max(1, self.iterations // 20)

    @property
    def memory_plays(self) -> int:
        """Plays per game of the memory runs (see :attr:`memory_queue`)."""
        return max(1, -(-3 * self.memory_queue // self.memory_games[0]))

    @property
    def slow_warmup(self) -> int:
        return max(1, self.warmup // 10)

    def as_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "memory_plays": self.memory_plays}
