"""Partitions shared by the asset graph."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from dagster import DailyPartitionsDefinition

OBSERVATION_START = "2016-08-01"

observation_days = DailyPartitionsDefinition(start_date=OBSERVATION_START, timezone="UTC", end_offset=1)
"""One partition per UTC observation day; the current (incomplete) day is included."""


def day_window(day: str) -> tuple[datetime, datetime]:
    """The [start, end) UTC datetimes of partition ``day`` (``YYYY-MM-DD``)."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)

