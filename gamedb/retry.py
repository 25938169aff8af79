"""Retrying a whole transaction on transient failures, with capped full-jitter backoff.

PostgreSQL asks for the whole transaction to be retried on serialization failures and
deadlocks (§13.5), never a single statement; the same holds for a lost connection. Only
errors :func:`gamedb.errors.is_transient` accepts are retried; the rest surface at once::

    policy = RetryPolicy(base=0.05, cap=2.0, deadline=30.0)
    delay = policy.delay(attempt)          # random in [0, min(cap, base * 2**attempt)]
"""

from __future__ import annotations

import dataclasses
import random

__all__ = ["RetryPolicy"]


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to retry a transaction that failed transiently."""

    base: float = 0.05
    cap: float = 2.0
    deadline: float = 30.0
    max_attempts: int = 50

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): full jitter."""
        return random.uniform(0.0, min(self.cap, self.base * (2.0**attempt)))
