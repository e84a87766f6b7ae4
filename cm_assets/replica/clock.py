"""The replica clock: runs at real speed from a start instant and can be advanced or set.

Data visibility (plume publication, source clustering, L2B publication) is evaluated against
this clock. Token and signed-URL expiry use the wall clock, so advancing the replica clock by
weeks does not invalidate a client's credentials mid-run.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant (``Z`` allowed, date-only means midnight UTC) as aware UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ReplicaClock:
    """A monotonic-speed clock whose origin can be moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._origin = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        """The current replica instant (aware UTC)."""
        with self._lock:
            elapsed = time.monotonic() - self._mono
            return datetime.fromtimestamp(self._origin.timestamp() + elapsed, UTC)

    def set(self, instant: datetime) -> datetime:
        """Jump to ``instant``; the clock keeps running from there."""
        with self._lock:
            self._origin = instant.astimezone(UTC)
            self._mono = time.monotonic()
        return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, if negative) by ``seconds``."""
        return self.set(datetime.fromtimestamp(self.now().timestamp() + seconds, UTC))
