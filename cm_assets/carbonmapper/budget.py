"""A request budget shared by every process using one API account: at most ``limit`` requests in
any ``window`` seconds, counted in a store that all of them see.

The store is a SQLite file (one machine: every process opening the same file shares the budget,
serialised by a file lock) or a Redis URL (``redis://…``: every host reaching that server shares
it). Counting is pyrate-limiter's sliding-window log, the rule the API and the replica apply; a
request waits until the window has room. Each client keeps its own adaptive pacing
(:mod:`.ratelimit`) under this ceiling.

A request is counted here when it is allowed to go and by the API when it arrives, a few
milliseconds later and not always in the same order; ``margin`` seconds added to the window absorb
that spread, so the API never sees more than ``limit`` in its own window.
"""

from __future__ import annotations

import hashlib
import random
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pyrate_limiter import Duration, Limiter, Rate, RateItem, RedisBucket, SQLiteBucket

ENV_REQUESTS = "CARBONMAPPER_BUDGET_REQUESTS"
ENV_WINDOW = "CARBONMAPPER_BUDGET_WINDOW"
ENV_STORE = "CARBONMAPPER_BUDGET_STORE"
#: Where the SQLite store lives when none is named: one file per machine (per temp directory).
DEFAULT_STORE = str(Path(tempfile.gettempdir()) / "cm_assets-request-budget.sqlite")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redacted(store: str) -> str:
    """The store without a password (Redis URLs may carry one)."""
    parts = urlsplit(store)
    if parts.scheme not in _REDIS_SCHEMES or not parts.password:
        return store
    host = parts.hostname or ""
    return parts._replace(netloc=f"***@{host}" + (f":{parts.port}" if parts.port else "")).geturl()


@dataclass(frozen=True)
class BudgetSpec:
    """``limit`` requests per ``window`` seconds, counted in ``store`` (a SQLite file path, or a
    Redis URL for several hosts; None: :data:`DEFAULT_STORE`)."""

    limit: int
    window: float = 60.0
    store: str | None = None
    margin: float = 1.0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a request budget needs at least 1 request per window, got {self.limit}")
        if not self.window > 0 or not self.margin >= 0:
            raise ValueError("the budget window must be > 0 s and its margin >= 0 s")

    def __repr__(self) -> str:
        return (f"BudgetSpec(limit={self.limit}, window={self.window}, "
                f"store={_redacted(self.store or DEFAULT_STORE)!r}, margin={self.margin})")

    @property
    def is_redis(self) -> bool:
        return urlsplit(self.store or "").scheme in _REDIS_SCHEMES

    def open(self, account: str) -> SharedBudget:
        """The budget of ``account`` (any string naming the API account, e.g. the API URL): clients
        naming the same account in the same store share it."""
        return SharedBudget(self, account)


class SharedBudget:
    """An open budget (see the module docstring); :meth:`acquire` blocks until requests may go."""

    def __init__(self, spec: BudgetSpec, account: str) -> None:
        self.spec = spec
        key = "cm_budget_" + hashlib.sha256(account.encode()).hexdigest()[:16]
        rate = Rate(spec.limit, int((spec.window + spec.margin) * Duration.SECOND))
        if spec.is_redis:
            from redis import Redis  # the deploy extra

            bucket = RedisBucket.init([rate], Redis.from_url(spec.store), key)
        else:
            path = Path(spec.store or DEFAULT_STORE)
            path.parent.mkdir(parents=True, exist_ok=True)
            bucket = SQLiteBucket.init_from_file([rate], table=key, db_path=str(path), use_file_lock=True)
        self._bucket = bucket
        self._limiter = Limiter(bucket)

    def __repr__(self) -> str:
        return f"SharedBudget({self.spec!r})"

    def acquire(self, n: int = 1) -> None:
        """Block until ``n`` more requests fit in the window, and count them (one by one, so that
        any ``n`` fits any limit).

        Each try stamps the request with the time it is counted: pyrate-limiter's own blocking
        wait stamps a retried request with its planned sleep, which runs late under load (a lock
        or CPU wait), so its entries would expire early here and the API would see more than the
        limit in its window."""
        for _ in range(n):
            while not self._limiter.try_acquire("requests", timeout=0):
                time.sleep(self._until_room())

    def _until_room(self) -> float:
        """Seconds until the window may have room, as the last refusal computed it, plus a jitter
        so that waiting threads do not all try again at once."""
        wait_ms = self._bucket.waiting(RateItem("requests", self._bucket.now()))
        return max(int(wait_ms), 0) / 1000 + random.uniform(0.005, 0.05)

    def close(self) -> None:
        self._limiter.close()


def parse_budget(requests: str | None, window: str | None = None, store: str | None = None) -> BudgetSpec | None:
    """A :class:`BudgetSpec` from the text of the ``CARBONMAPPER_BUDGET_*`` variables (None when
    ``requests`` is unset or empty). Errors name the variable, never the store (it may hold a
    password)."""
    if not (requests or "").strip():
        return None
    try:
        limit = int(requests.strip())
    except ValueError:
        raise ValueError(f"{ENV_REQUESTS} must be a whole number of requests, got {requests!r}") from None
    seconds = 60.0
    if (window or "").strip():
        if not re.fullmatch(r"\d+(\.\d+)?", window.strip()):
            raise ValueError(f"{ENV_WINDOW} must be a number of seconds, got {window!r}")
        seconds = float(window)
    return BudgetSpec(limit, seconds, (store or "").strip() or None)
