"""``reprocessed_plume_sensor``: finds plumes whose emission or version changed upstream, records the
previous values in the history table and re-materializes their observation days."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
from dagster import RunRequest, SensorEvaluationContext, SensorResult

from cm_assets.defs.api_watch.cursor import Event, TimeCursor, plan_tick
from cm_assets.defs.api_watch.events import fetch_payloads, is_valid_partition, start_cursor, to_event
from cm_assets.defs.api_watch.history import append_history
from cm_assets.defs.api_watch.runs import api_sensor, refresh_request
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource
from cm_assets.storage import layout
from cm_assets.storage.store import Storage

if TYPE_CHECKING:
    from cm_assets.carbonmapper import CarbonMapperClient

STORED_COLUMNS = ["id", "plume_id", "emission_version", "emission_auto"]


def _number(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def same_emission(old: float, new: float) -> bool:
    """Equal emissions (both null, or equal within float noise)."""
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) and math.isnan(new)
    return math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-9)


class StoredCatalog:
    """Stored catalog rows by plume UUID, one partition file read at most once per tick."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._days: dict[str, pd.DataFrame] = {}

    def row(self, day: str, plume_uuid: str) -> pd.Series | None:
        if day not in self._days:
            rel = layout.catalog_day(day)
            frame = (pd.read_parquet(self.storage.uri(rel), columns=STORED_COLUMNS)
                     if self.storage.exists(rel) else pd.DataFrame(columns=STORED_COLUMNS))
            self._days[day] = frame.set_index("id")
        frame = self._days[day]
        return frame.loc[plume_uuid] if plume_uuid in frame.index else None


def change_row(stored: pd.Series, payload: dict, day: str, now: datetime) -> dict | None:
    """The history row when the payload's version or emission differs from the stored one."""
    old_version = None if pd.isna(stored["emission_version"]) else str(stored["emission_version"])
    new_version = payload.get("emission_version")
    old_auto, new_auto = _number(stored["emission_auto"]), _number(payload.get("emission_auto"))
    if old_version == new_version and same_emission(old_auto, new_auto):
        return None
    return {"plume_id": payload["plume_id"], "partition": day,
            "old_emission_version": old_version, "new_emission_version": new_version,
            "old_emission_auto": old_auto, "new_emission_auto": new_auto,
            "detected_at": now, "modified": to_event(payload, "modified").at}


def reprocessing_tick(client: CarbonMapperClient, storage: Storage, raw_cursor: str | None,
                      settings: FreshnessResource, now: datetime) -> tuple[list[RunRequest], TimeCursor, int]:
    """One evaluation: (run requests, next cursor, history rows added)."""
    cursor = start_cursor(client, raw_cursor, settings.lookback_days)
    payloads = {p["id"]: p for p in fetch_payloads(client, field="modified", since=cursor.at, limit=None)}
    stored = StoredCatalog(storage)
    changes: dict[str, dict] = {}

    def changed(event: Event) -> bool:
        row = stored.row(event.partition, event.id)
        change = None if row is None else change_row(row, payloads[event.id], event.partition, now)
        if change:
            changes[event.id] = change
        return change is not None

    events = [to_event(p, "modified") for p in payloads.values()]
    plan = plan_tick(events, cursor, max_partitions=settings.max_runs_per_tick,
                     is_valid=is_valid_partition, wanted=changed)
    rows = [changes[i] for ids in plan.batches.values() for i in ids]
    added = append_history(storage, rows)
    requests = [refresh_request("reprocessed", day,
                                [f"{i}@{changes[i]['modified'].isoformat()}" for i in ids], "reprocessed")
                for day, ids in sorted(plan.batches.items())]
    return requests, plan.cursor, added


@api_sensor(
    "reprocessed_plume_sensor",
    "Polls the catalog by modification time, compares emission_version and emission_auto "
    "with the stored day, appends the previous values to history/plume_versions.parquet "
    "(view plume_history) and re-materializes the changed days (at most the freshness "
    "resource's max_runs_per_tick per tick)."
)
def reprocessed_plume_sensor(context: SensorEvaluationContext, carbonmapper: CarbonMapperResource,
                             storage: StorageResource, freshness: FreshnessResource) -> SensorResult:
    with carbonmapper.get_client() as client:
        requests, cursor, added = reprocessing_tick(client, storage.storage_for(carbonmapper), context.cursor, freshness,
                                                    datetime.now(UTC))
    context.log.info(f"{added} history row(s) added; {len(requests)} day(s) to refresh")
    if not requests:
        return SensorResult(skip_reason="no re-processed plumes", cursor=cursor.to_json())
    return SensorResult(run_requests=requests, cursor=cursor.to_json())
