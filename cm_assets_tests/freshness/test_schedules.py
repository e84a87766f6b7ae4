"""Schedules and the loaded definitions: names, targets, default statuses, the lag window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, Definitions, build_schedule_context

from cm_assets.definitions import defs
from cm_assets.defs.freshness.schedules import daily_catalog_schedule, sources_schedule

pytestmark = pytest.mark.fast


def test_definitions_load_with_every_freshness_sensor_and_schedule() -> None:
    Definitions.validate_loadable(defs)
    sensors = {s.name: s for s in defs.sensors}
    schedules = {s.name: s for s in defs.schedules}
    for name in ("new_plume_sensor", "reprocessed_plume_sensor", "deferred_scene_sensor"):
        assert sensors[name].default_status == DefaultSensorStatus.RUNNING
        assert sensors[name].job_name == "refresh_days"
    assert schedules["daily_catalog_schedule"].job_name == "refresh_days"
    assert schedules["sources_schedule"].job_name == "refresh_warehouse"
    assert all(s.default_status == DefaultScheduleStatus.RUNNING for s in schedules.values())


def test_daily_schedule_covers_today_and_the_lag_window_in_one_run(monkeypatch) -> None:
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_LAG_DAYS", "30")
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 24, 2, tzinfo=UTC))
    [request] = daily_catalog_schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-25"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-24"
    assert request.run_key == "daily:2026-11-24"


def test_sources_schedule_runs_once_a_day() -> None:
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 24, 4, tzinfo=UTC))
    [request] = sources_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "sources:2026-11-24"
