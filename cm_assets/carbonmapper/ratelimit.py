"""Client-side pacing of requests: one adaptive rate shared by every thread of a client.

Requests are spaced ``1/rate`` apart. The rate follows AIMD with a slow start, as TCP's window
does: until the first 429 or 5xx, each success adds 1 request/s (the rate doubles with every
second of successes: an API that does not throttle is soon not held back); after it, each success
adds ``step/rate`` (so ``step`` requests/s per second of successes) up to ``max_rate``. A 429 cuts
the rate by ``throttle_factor`` once per throttling episode (the first one from the rate requests
actually went at over the last second, when that is lower: the slow start may have doubled the
rate far beyond what the callers used) and pauses every caller until ``Retry-After`` has passed; a
5xx multiplies it by ``server_error_factor``. The transport paces its own requests and the GDAL range reads ask for
their slots through :meth:`acquire` before each remote raster open and read.

With a :class:`~.budget.SharedBudget`, every slot is also drawn from that budget, which all
processes using the account share: the adaptive rate works under that ceiling.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class RatePolicy:
    """``start`` requests/s at first (None: no pacing at all), never below ``min_rate`` nor above
    ``max_rate``; ``slow_start``: double per second of successes until the first 429 or 5xx;
    ``step``: requests/s gained per second of successes after it."""

    start: float | None = 100.0
    min_rate: float = 0.5
    max_rate: float = 500.0
    slow_start: bool = True
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
        self._slow_start = self.policy.slow_start
        #: When the slots of the last second were granted (the rate requests went at), in slow start.
        self._granted: deque[float] = deque()
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    @property
    def rate(self) -> float | None:
        """Current requests per second (None: unpaced)."""
        return self._rate

    @property
    def in_slow_start(self) -> bool:
        """True until the first 429 or 5xx."""
        return self._slow_start

    def continuation(self) -> RatePolicy:
        """This policy starting where this limiter is now (its rate, in slow start or not): for the
        next client of the same account."""
        return replace(self.policy, start=self._rate, slow_start=self._slow_start)

    def acquire(self, n: int = 1) -> float:
        """Block until ``n`` requests may go (paced, then drawn from the shared budget if any);
        returns the seconds waited."""
        wait = 0.0
        if self._rate is not None:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next, self._paused_until)
                self._next = slot + n / self._rate
                if self._slow_start:
                    self._granted.extend([slot] * n)
                    while self._granted and self._granted[0] < slot - 1.0:
                        self._granted.popleft()
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
            gain = 1.0 if self._slow_start else self.policy.step / self._rate
            self._rate = min(self.policy.max_rate, self._rate + gain)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: everyone waits ``retry_after``; the rate is cut once per episode."""
        if self._rate is None:
            return
        with self._lock:
            now = self._clock()
            if now >= self._paused_until:  # first 429 of this episode
                rate = self._rate
                if self._slow_start:  # the doubled rate may be far above what was used
                    rate = min(rate, max(sum(t >= now - 1.0 for t in self._granted), 1))
                    self._end_slow_start()
                self._rate = max(self.policy.min_rate, rate * self.policy.throttle_factor)
            pause = retry_after if retry_after is not None else self.policy.default_pause
            self._paused_until = max(self._paused_until, now + pause)

    def server_error(self) -> None:
        if self._rate is None:
            return
        with self._lock:
            self._end_slow_start()
            self._rate = max(self.policy.min_rate, self._rate * self.policy.server_error_factor)

    def _end_slow_start(self) -> None:
        self._slow_start = False
        self._granted.clear()
