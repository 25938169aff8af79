"""The one retry loop of gamedb: a whole transaction run again on transient failures, with
capped full-jitter backoff.

PostgreSQL asks for the whole transaction to be retried on serialization failures and
deadlocks (§13.5), never a single statement; the same holds for a lost connection. Each
operation of :class:`gamedb.Database`, each group of the persister and each ``dbmate up`` of
``gamedb.migrate`` runs through :func:`retrying`; by default only errors
:func:`gamedb.errors.is_transient` accepts are retried, the rest surface at once::

    policy = RetryPolicy(base=0.05, cap=2.0, deadline=30.0)
    delay = policy.delay(attempt)          # random in [0, min(cap, base * 2**attempt)]
    play_id = await retrying(lambda: store(play), policy=policy, what="save_play", game_id=gid)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gamedb.errors import GameDBError, is_transient, translating

__all__ = ["RetryPolicy", "log_success", "retrying"]

T = TypeVar("T")
_log = logging.getLogger("gamedb")


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


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    game_id: uuid.UUID | None = None,
    retryable: Callable[[GameDBError], bool] = is_transient,
    on_retry: Callable[[], object] | None = None,
    log: logging.Logger = _log,
    first_failure: GameDBError | None = None,
    started: float | None = None,
) -> T:
    """Await ``attempt()`` until it returns, fails with an error ``retryable`` refuses, or
    ``policy`` runs out: ``max_attempts`` attempts, or a wait that would end past
    ``deadline`` seconds after the first attempt began. A driver error is translated
    (:func:`gamedb.errors.translating`); the last failure is raised.

    Logged to ``log``: each retry at DEBUG (``what``, the game, the attempt, the driver's
    error class), the outcome handed back at DEBUG, and a failure that retries could not
    cure, once, at WARNING. ``on_retry`` is called before each retry (a counter).

    A caller that made the first attempt itself (an operation's success path, kept free of
    this loop's bookkeeping) hands over its ``first_failure`` and the ``started`` time of that
    attempt (:func:`time.perf_counter`): the loop then goes on from there."""
    if started is None:
        started = time.perf_counter()
    retries = 0
    failure = first_failure
    while True:
        if failure is None:
            try:
                with translating(game_id=game_id):
                    result = await attempt()
            except GameDBError as error:
                failure = error
            else:
                if log.isEnabledFor(logging.DEBUG):
                    log_success(
                        what, game_id=game_id, started=started, attempts=retries + 1, log=log
                    )
                return result
        transient = retryable(failure)
        if transient:
            delay = policy.delay(retries)
            waited = time.perf_counter() - started
            if retries + 1 < policy.max_attempts and waited + delay <= policy.deadline:
                retries += 1
                if on_retry is not None:
                    on_retry()
                log.debug(
                    "retrying %s (game %s, attempt %d) after %s: %s",
                    what,
                    game_id,
                    retries,
                    type(failure.__cause__ or failure).__name__,
                    failure,
                )
                await asyncio.sleep(delay)
                failure = None
                continue
        # The caller gets the error; only retries that ran out are worth a warning.
        log.log(
            logging.WARNING if transient and retries else logging.DEBUG,
            "%s failed after %d attempts in %.1f s (game %s): %s",
            what,
            retries + 1,
            time.perf_counter() - started,
            game_id,
            failure,
        )
        raise failure


def log_success(
    what: str,
    *,
    game_id: uuid.UUID | None,
    started: float,
    attempts: int = 1,
    log: logging.Logger = _log,
) -> None:
    """The DEBUG line of a result handed back: ``what``, the game, the time since ``started``
    (:func:`time.perf_counter`) and the attempts it took. Callers check that DEBUG is on
    first, and so build ``what`` only when it is."""
    log.debug(
        "%s game=%s %.3f ms attempts=%d",
        what,
        game_id,
        (time.perf_counter() - started) * 1000,
        attempts,
    )
