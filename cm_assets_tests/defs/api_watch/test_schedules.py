"""Schedules and the loaded definitions: names, targets, default statuses, the lag window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, Definitions, build_schedule_context

from cm_assets.definitions import build_definitions, defs
from cm_assets.defs.api_watch.schedules import daily_catalog_schedule
from cm_assets.defs.resources import FreshnessResource

pytestmark = pytest.mark.fast


def test_definitions_load_with_every_freshness_sensor_and_schedule() -> None:
    Definitions.validate_loadable(defs)
    sensors = {s.name: s for s in defs.sensors}
    schedules = {s.name: s for s in defs.schedules}
    for name in ("new_plume_sensor", "reprocessed_plume_sensor", "deferred_scene_sensor"):
        assert sensors[name].default_status == DefaultSensorStatus.RUNNING
        assert sensors[name].job_name == "refresh_days"
    assert set(schedules) == {"daily_catalog_schedule"}   # sources follow by automation (daily cron included)
    assert schedules["daily_catalog_schedule"].job_name == "refresh_days"
    assert all(s.default_status == DefaultScheduleStatus.RUNNING for s in schedules.values())


def daily_window(freshness: FreshnessResource) -> tuple[str, str, str]:
    """(first day, last day, run key) of the daily schedule's tick of 2026-11-24 02:00 UTC."""
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 24, 2, tzinfo=UTC),
                                     resources={"freshness": freshness})
    [request] = daily_catalog_schedule.evaluate_tick(context).run_requests
    return (request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"], request.run_key)


def test_daily_schedule_covers_today_and_the_lag_window_in_one_run() -> None:
    assert daily_window(FreshnessResource()) == ("2026-10-25", "2026-11-24", "daily:2026-11-24")
    assert daily_window(FreshnessResource(lag_days=7)) == ("2026-11-17", "2026-11-24", "daily:2026-11-24")


def test_deployed_lag_window_follows_its_environment_variable(monkeypatch) -> None:
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_LAG_DAYS", "10")
    freshness = build_definitions().resources["freshness"]
    assert daily_window(freshness)[:2] == ("2026-11-14", "2026-11-24")

