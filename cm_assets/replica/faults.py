"""Fault injection: seeded probabilistic faults and deterministic admin-scheduled ones.

Probabilistic faults (5xx, slow responses, truncated bodies) draw from one ``random.Random``
seeded by ``--fault-seed``; with concurrent clients the draw order follows arrival order.
Scheduled faults (``POST /_replica/faults``) fail the next ``count`` requests whose path starts
with ``path_prefix``; a 429 carries ``Retry-After``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from cm_assets.replica.errors import HTTPError

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class ScheduledFault:
    status: int
    count: int
    path_prefix: str = "/"
    retry_after: int | None = None


@dataclass
class Decision:
    """What to do with one request."""

    error: HTTPError | None = None
    delay_s: float = 0.0
    truncate: bool = False


def fault_error(status: int, retry_after: int | None = None) -> HTTPError:
    """The response body of an injected failure."""
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
        body: Any = {"detail": "Request was throttled."}
    else:
        body = {"detail": _REASONS.get(status, "Error")}
    return HTTPError(status, body, headers)


@dataclass
class FaultInjector:
    """Decides per request whether to fail, delay or truncate it."""

    rate_5xx: float = 0.0
    slow_rate: float = 0.0
    slow_ms: int = 0
    truncate_rate: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False)
    _scheduled: list[ScheduledFault] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def schedule(self, body: Any) -> ScheduledFault:
        """Add a deterministic fault from the admin JSON body; ValueError when invalid."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        status = int(body.get("status", 503))
        if not 400 <= status <= 599:
            raise ValueError("status must be 4xx or 5xx")
        count = int(body.get("count", 1))
        retry_after = body.get("retry_after")
        fault = ScheduledFault(status, max(0, count), str(body.get("path_prefix", "/")),
                               None if retry_after is None else int(retry_after))
        with self._lock:
            self._scheduled.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self._scheduled]

    def decide(self, path: str) -> Decision:
        with self._lock:
            for fault in self._scheduled:
                if fault.count > 0 and path.startswith(fault.path_prefix):
                    fault.count -= 1
                    self._scheduled = [f for f in self._scheduled if f.count > 0]
                    return Decision(error=fault_error(fault.status, fault.retry_after))
            decision = Decision()
            if self.rate_5xx and self._rng.random() < self.rate_5xx:
                decision.error = fault_error(self._rng.choice((500, 502, 503, 504)))
                return decision
            if self.slow_rate and self._rng.random() < self.slow_rate:
                decision.delay_s = self.slow_ms / 1000.0
            if self.truncate_rate and self._rng.random() < self.truncate_rate:
                decision.truncate = True
            return decision
