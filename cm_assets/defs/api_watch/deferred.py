"""``deferred_scene_sensor``: retries plumes whose L2B scene was not yet published.

Crop rows with status ``deferred`` are grouped by scene; the sensor asks the API whether each scene
is published now (a bounded number per tick, rotating through them with its cursor) and re-runs the
days whose scenes appeared. Days past the give-up age get one last run, in which ``scene_crops``
marks the still-missing scenes ``gave_up``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
from dagster import RunRequest, SensorEvaluationContext, SensorResult

from cm_assets.carbonmapper.errors import SceneNotPublished
from cm_assets.defs.give_up import DEFERRED, past_give_up
from cm_assets.defs.api_watch.runs import api_sensor, refresh_request
from cm_assets.defs.api_watch.settings import DEFERRED_INTERVAL_SECONDS
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource
from cm_assets.storage import layout
from cm_assets.storage.store import Storage

if TYPE_CHECKING:
    from cm_assets.carbonmapper import CarbonMapperClient

CROPS_GLOB = layout.day_table_glob("scene_crops")
COLUMNS = ["plume_id", "observation_day", "scene_name"]


def deferred_rows(storage: Storage) -> pd.DataFrame:
    """plume_id, observation_day, scene_name of every crop row still waiting for its scene."""
    if not storage.glob(CROPS_GLOB):
        return pd.DataFrame(columns=COLUMNS)
    if storage.is_local:
        query = (f"SELECT {', '.join(COLUMNS)} FROM read_parquet(?, union_by_name = true) "
                 f"WHERE status = ? ORDER BY scene_name, plume_id")
        return duckdb.connect().execute(query, [storage.uri(CROPS_GLOB), DEFERRED]).df()
    frame = storage.read_tables(CROPS_GLOB)
    return frame.loc[frame["status"] == DEFERRED, COLUMNS].sort_values(["scene_name", "plume_id"])


def rotate(names: list[str], after: str | None) -> list[str]:
    """``names`` (sorted) starting after ``after``, wrapping around."""
    split = sum(1 for name in names if after is not None and name <= after)
    return names[split:] + names[:split]


def scene_published(client: CarbonMapperClient, plume_id: str) -> bool:
    """Whether the L2B parent of ``plume_id`` is published now."""
    try:
        client.scene_for_plume(plume_id)
    except SceneNotPublished:
        return False
    return True


def deferred_tick(client: CarbonMapperClient, storage: Storage, raw_cursor: str | None,
                  settings: FreshnessResource, now: datetime) -> tuple[list[RunRequest], str | None]:
    """One evaluation: (run requests, next cursor = last scene checked)."""
    rows = deferred_rows(storage)
    expired = rows["observation_day"].map(lambda day: past_give_up(day, now, settings.give_up_days)).astype(bool)
    requests = [refresh_request("gave_up", day, group["plume_id"], "deferred")
                for day, group in rows[expired].groupby("observation_day")]
    live = rows[~expired]
    scenes = live.groupby("scene_name")
    cursor = raw_cursor
    appeared: dict[str, list[str]] = {}
    budget = min(settings.max_scene_checks_per_tick, len(scenes))
    for name in rotate(sorted(scenes.groups), raw_cursor)[:budget]:
        group = scenes.get_group(name)
        cursor = name
        if scene_published(client, str(group["plume_id"].iloc[0])):
            for day in group["observation_day"].unique():
                appeared.setdefault(str(day), []).append(name)
    requests += [refresh_request("scene_published", day, names, "scenes")
                 for day, names in sorted(appeared.items())]
    return requests[:settings.max_runs_per_tick], cursor


@api_sensor(
    "deferred_scene_sensor",
    "Every 6 hours: re-runs the days whose deferred L2B scenes are now published (at most "
    "the freshness resource's max_scene_checks_per_tick scenes checked per tick); days older "
    "than its give_up_days (default 90) get a last run that marks the missing scenes gave_up.",
    interval_seconds=DEFERRED_INTERVAL_SECONDS,
)
def deferred_scene_sensor(context: SensorEvaluationContext, carbonmapper: CarbonMapperResource,
                          storage: StorageResource, freshness: FreshnessResource) -> SensorResult:
    with carbonmapper.get_client() as client:
        requests, cursor = deferred_tick(client, storage.storage(), context.cursor, freshness,
                                         client.api_now())
    if not requests:
        return SensorResult(skip_reason="no deferred scene became available", cursor=cursor)
    return SensorResult(run_requests=requests, cursor=cursor)
