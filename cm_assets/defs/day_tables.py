"""Building the per-plume day tables (``plume_products``, ``scene_crops``): one client and one pool
for every day of the run, killed writes' leftovers removed, the previous run's table reused."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from cm_assets.carbonmapper.client import CarbonMapperClient
from cm_assets.carbonmapper.errors import describe
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.defs.day_records import records_by_day
from cm_assets.defs.engine import DayPlan, run_days
from cm_assets.defs.resources import CarbonMapperResource
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets.sql.schema import conform


def remove_plume_temporaries(store: Storage, records: Sequence[PlumeRecord],
                             dirs: Callable[[str], list[str]], log) -> None:
    """Remove what killed writes left in the plumes' directories ``dirs(plume_id)`` (reused plumes
    included); each asset lists only the directories it writes."""
    for record in records:
        try:
            store.remove_stale_temporaries(dirs(record.plume_id))
        except OSError as error:
            log.warning(f"{record.plume_id}: temporaries not removed: {describe(error)}")


def read_previous(store: Storage, rel: str, log) -> pd.DataFrame | None:
    """The table a previous run of the day wrote, or None when absent or unreadable (rebuilt)."""
    if not store.exists(rel):
        return None
    try:
        return store.read_parquet(rel)
    except Exception as error:  # a damaged table only costs the reuse of its rows
        log.warning(f"{rel}: previous table unreadable, rebuilding it: {describe(error)}")
        return None


def _dir_and_name(rel: str) -> tuple[list[str], list[str]]:
    directory, name = rel.rsplit("/", 1)
    return [directory], [name]


def build_days(days: Sequence[str], carbonmapper: CarbonMapperResource, store: Storage,
               path: Callable[[str], str], table: str,
               plan: Callable[[CarbonMapperClient, list[PlumeRecord], str], DayPlan],
               workers: int) -> dict[str, pd.DataFrame]:
    """Build and write ``table`` for each day of the run with one client (closed afterwards) and
    one pool of ``workers`` in-flight tasks shared by all days; returns each day's rows. Each day's
    file is replaced atomically as soon as its tasks are done, so a rerun leaves no duplicates and a
    killed run keeps its finished days."""
    with carbonmapper.get_client() as client:
        records = records_by_day(client, store, list(days))
        for day in days:
            store.remove_stale_temporaries(*_dir_and_name(path(day)))
        frames = run_days((plan(client, records[day], day) for day in days), workers,
                          lambda day, frame: store.write_parquet(frame, path(day)))
    return dict(zip(days, frames))


def all_days(tables: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """The rows of every day of the run (an empty typed ``table`` when there are none)."""
    return pd.concat(tables.values(), ignore_index=True) if tables else conform(pd.DataFrame(), table)
