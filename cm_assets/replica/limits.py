"""Sliding-window rate limiting, keyed per token (anonymous: per client IP)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """At most ``limit`` requests per ``window`` seconds per key; ``limit <= 0`` disables."""

    def __init__(self, limit: int = 0, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        """Record one request; return None when allowed, else Retry-After seconds (≥ 1)."""
        if self.limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None
