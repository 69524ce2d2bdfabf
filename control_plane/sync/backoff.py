"""Capped exponential backoff with full jitter, as client-go's reflector retries a failing LIST or WATCH (R6).

Full jitter (a uniform draw from zero to the exponential bound) spreads many workers that failed together, so they
do not hammer a recovering API server in lockstep. After `reset_after` seconds without a failure the connection is
considered healthy again and the next failure starts from the initial delay.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """The delays to wait after consecutive failures of one stream (one per cluster and resource type)."""

    def __init__(
        self,
        *,
        initial: float = 0.8,
        factor: float = 2.0,
        cap: float = 30.0,
        reset_after: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._initial = initial
        self._factor = factor
        self._cap = cap
        self._reset_after = reset_after
        self._clock = clock
        # Random() without a seed draws its seed from os.urandom, so two workers never share a jitter sequence.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 (jitter, not cryptography)
        self._attempts = 0
        self._last_failure: float | None = None

    @property
    def attempts(self) -> int:
        """Consecutive failures counted so far (0 after a reset)."""
        return self._attempts

    def next_delay(self, retry_after: float | None = None) -> float:
        """Record one failure and return how long to wait before retrying, in seconds.

        `retry_after` is the server's Retry-After (429/503): the delay is at least that, and still never above the cap.
        """
        now = self._clock()
        if self._last_failure is not None and now - self._last_failure > self._reset_after:
            self._attempts = 0
        self._last_failure = now
        try:
            bound = min(self._cap, self._initial * self._factor**self._attempts)
        except OverflowError:  # a stream that has failed for hours: the cap was reached long ago
            bound = self._cap
        self._attempts += 1
        delay = self._rng.uniform(0, bound)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self._cap)

    def reset(self) -> None:
        """Forget past failures: call after a success that proves the stream is healthy."""
        self._attempts = 0
        self._last_failure = None
