"""RFC 3339 text of the replica's int64-nanosecond UTC times.

Datetimes are RFC 3339 UTC with a ``Z`` suffix; ``scene_timestamp`` has whole seconds,
publication times keep microseconds (the spec is silent on both).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAT = np.iinfo(np.int64).min


def iso(ns: int, seconds_only: bool = False) -> str | None:
    """RFC 3339 UTC text of int64 nanoseconds (None for NaT)."""
    if ns == _NAT:
        return None
    moment = _EPOCH + timedelta(microseconds=int(ns) // 1000)
    if seconds_only or moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_many(ns: np.ndarray, seconds_only: bool = False) -> list[str]:
    """Vectorized ``iso`` for int64 nanoseconds without NaT."""
    stamps = np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")
    if seconds_only:
        return [t + "Z" for t in np.datetime_as_string(stamps.astype("datetime64[s]"), unit="s").tolist()]
    text = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us").tolist()
    return [t[:-7] + "Z" if t.endswith(".000000") else t + "Z" for t in text]


def utc_day(ns: int) -> str:
    """``YYYY-MM-DD`` UTC day of int64 nanoseconds."""
    return (_EPOCH + timedelta(microseconds=int(ns) // 1000)).strftime("%Y-%m-%d")
