"""Client-side pacing of requests: one adaptive rate shared by every thread of a client.

Requests are spaced ``1/rate`` apart. The rate follows AIMD: each success adds ``step/rate``
(so ``step`` requests/s per second of successes) up to ``max_rate``; a 429 cuts it by ``throttle_factor`` once per
throttling episode and pauses every caller until ``Retry-After`` has passed; a 5xx multiplies it
by ``server_error_factor``. The transport paces its own requests and the GDAL range reads ask for
their slots through :meth:`acquire` before each remote raster open and read.

With a :class:`~.budget.SharedBudget`, every slot is also drawn from that budget, which all
processes using the account share: the adaptive rate works under that ceiling.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RatePolicy:
    """``start`` requests/s at first (None: no pacing at all), never below ``min_rate`` nor above
    ``max_rate``; ``step``: requests/s gained per second of successes."""

    start: float | None = 50.0
    min_rate: float = 0.5
    max_rate: float = 500.0
    step: float = 5.0
    throttle_factor: float = 0.7
    server_error_factor: float = 0.8
    default_pause: float = 1.0


class Budget(Protocol):
    def acquire(self, n: int = 1) -> None: ...


class RateLimiter:
    """Thread-safe adaptive pacing (see the module docstring)."""

    def __init__(self, policy: RatePolicy | None = None, clock=time.monotonic, sleep=time.sleep,
                 budget: Budget | None = None) -> None:
        self.policy = policy or RatePolicy()
        self.budget = budget
        self._rate = self.policy.start
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    @property
    def rate(self) -> float | None:
        """Current requests per second (None: unpaced)."""
        return self._rate

    def acquire(self, n: int = 1) -> float:
        """Block until ``n`` requests may go (paced, then drawn from the shared budget if any);
        returns the seconds waited."""
        wait = 0.0
        if self._rate is not None:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next, self._paused_until)
                self._next = slot + n / self._rate
            wait = max(slot - now, 0.0)
            if wait > 0:
                self._sleep(wait)
        if self.budget is not None:
            before = self._clock()
            self.budget.acquire(n)
            wait += self._clock() - before
        return wait

    def succeeded(self) -> None:
        if self._rate is None:
            return
        with self._lock:
            self._rate = min(self.policy.max_rate, self._rate + self.policy.step / self._rate)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: everyone waits ``retry_after``; the rate is cut once per episode."""
        if self._rate is None:
            return
        with self._lock:
            now = self._clock()
            if now >= self._paused_until:  # first 429 of this episode
                self._rate = max(self.policy.min_rate, self._rate * self.policy.throttle_factor)
            pause = retry_after if retry_after is not None else self.policy.default_pause
            self._paused_until = max(self._paused_until, now + pause)

    def server_error(self) -> None:
        if self._rate is None:
            return
        with self._lock:
            self._rate = max(self.policy.min_rate, self._rate * self.policy.server_error_factor)
