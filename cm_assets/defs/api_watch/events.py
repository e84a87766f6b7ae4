"""Reading plume payloads from the API as cursor events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from cm_assets.defs.api_watch.cursor import Event, TimeCursor, parse_time
from cm_assets.defs.partitions import observation_days

if TYPE_CHECKING:
    from cm_assets.carbonmapper import CarbonMapperClient

QUERY_SLACK = timedelta(seconds=1)
"""The query starts this much before the cursor, so an exclusive or truncating server bound cannot
hide plumes at the cursor's own timestamp; the cursor filters the overlap out."""


def observation_day(payload: dict) -> str:
    """The UTC observation day (partition key) of a plume payload."""
    return parse_time(str(payload["scene_timestamp"])).date().isoformat()


def to_event(payload: dict, field: str) -> Event:
    """The payload as a cursor event over ``field`` (``published_at`` or ``modified``)."""
    return Event(str(payload["id"]), parse_time(str(payload[field])), observation_day(payload))


def fetch_payloads(client: CarbonMapperClient, *, field: str, since: datetime, limit: int | None, **filters) -> Iterator[dict]:
    """At most ``limit`` (None: all) published plume payloads whose ``field`` interval starts at ``since``."""
    interval = {"published_at": "published", "modified": "modified"}[field]
    payloads = client.iter_plume_payloads(status="published", **{interval: (since - QUERY_SLACK, None)},
                                          **filters)
    return islice((p for p in payloads if p.get(field)), limit)


def is_valid_partition(day: str) -> bool:
    """Whether ``day`` is a partition of ``observation_days`` now."""
    return observation_days.has_partition_key(day)


def latest_publication(client: CarbonMapperClient) -> datetime | None:
    """The newest ``published_at`` in the catalog (the API's own clock, which may not be ours)."""
    newest = next(iter(client.iter_plume_payloads(status="published", sort="published_desc",
                                                  page_size=1)), None)
    return parse_time(str(newest["published_at"])) if newest and newest.get("published_at") else None


def start_cursor(client: CarbonMapperClient, raw: str | None, lookback_days: float) -> TimeCursor:
    """The stored cursor or, on the first tick, ``lookback_days`` before the newest publication
    (before the API's now when nothing is published)."""
    if raw:
        return TimeCursor.from_json(raw)
    anchor = latest_publication(client) or client.api_now()
    return TimeCursor(anchor - timedelta(days=lookback_days))
