"""Partitions shared by the asset graph."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dagster import AssetsDefinition, BackfillPolicy, BetaWarning, DailyPartitionsDefinition, asset

OBSERVATION_START = "2016-08-01"
# Dagster's run tags of a single-run backfill over a partition range
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

observation_days = DailyPartitionsDefinition(start_date=OBSERVATION_START, timezone="UTC", end_offset=1)
"""One partition per UTC observation day; the current (incomplete) day is included."""


def day_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """``@asset`` partitioned by observation day, a backfill of any number of days running as one run
    (``BackfillPolicy.single_run``: one fetch engine for all its days). That parameter is beta in the
    pinned Dagster release; its notice, printed by every process that imports the asset, is silenced
    here and nowhere else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Parameter `backfill_policy`", BetaWarning)
        return asset(partitions_def=observation_days, backfill_policy=BackfillPolicy.single_run(), **kwargs)


def day_window(day: str) -> tuple[datetime, datetime]:
    """The [start, end) UTC datetimes of partition ``day`` (``YYYY-MM-DD``)."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags of one run over the partitions ``first``..``last``."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}
