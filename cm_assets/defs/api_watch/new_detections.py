"""``new_plume_sensor``: requests ``refresh_days`` runs for the observation days that gained plumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import RunRequest, SensorEvaluationContext, SensorResult

from cm_assets.defs.api_watch.cursor import TimeCursor, plan_tick
from cm_assets.defs.api_watch.events import fetch_payloads, is_valid_partition, start_cursor, to_event
from cm_assets.defs.api_watch.runs import api_sensor, refresh_request
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource

if TYPE_CHECKING:
    from cm_assets.carbonmapper import CarbonMapperClient


def new_plumes_tick(client: CarbonMapperClient, raw_cursor: str | None, settings: FreshnessResource
                    ) -> tuple[list[RunRequest], TimeCursor, int]:
    """One evaluation: (run requests, next cursor, plumes consumed)."""
    cursor = start_cursor(client, raw_cursor, settings.lookback_days)
    payloads = fetch_payloads(client, field="published_at", since=cursor.at,
                              limit=settings.max_plumes_per_tick, sort="published_asc")
    events = [to_event(p, "published_at") for p in payloads]
    plan = plan_tick(events, cursor, max_partitions=settings.max_runs_per_tick,
                     is_valid=is_valid_partition)
    requests = [refresh_request("new_plumes", day, ids, "new_plumes")
                for day, ids in sorted(plan.batches.items())]
    return requests, plan.cursor, sum(len(ids) for ids in plan.batches.values())


@api_sensor(
    "new_plume_sensor",
    "Polls the catalog by publication time and re-materializes exactly the observation "
    "days that gained plumes (late publications land in old days). The first tick takes "
    "the freshness resource's lookback_days (default 3) days before the newest publication; "
    "at most max_runs_per_tick days and max_plumes_per_tick plumes per tick."
)
def new_plume_sensor(context: SensorEvaluationContext, carbonmapper: CarbonMapperResource,
                     freshness: FreshnessResource) -> SensorResult:
    with carbonmapper.get_client() as client:
        requests, cursor, count = new_plumes_tick(client, context.cursor, freshness)
    context.log.info(f"{count} new plume(s) in {len(requests)} day(s); cursor at {cursor.at.isoformat()}")
    if not requests:
        return SensorResult(skip_reason=f"no new plumes since {cursor.at.isoformat()}",
                            cursor=cursor.to_json())
    return SensorResult(run_requests=requests, cursor=cursor.to_json())
