"""Declarative automation on a real instance: the sensors' day runs are followed by one refresh of
sources, source statistics and the warehouse, requested once the whole batch has finished."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import (AssetKey, AssetMaterialization, AssetSelection, DagsterInstance, DagsterRunStatus,
                     DefaultSensorStatus, Definitions, build_sensor_context, evaluate_automation_conditions,
                     instance_for_test)

from cm_assets.definitions import build_definitions, defs as project_defs
from cm_assets.defs.automation import AUTOMATION_SENSOR
from cm_assets.defs.api_watch.new_detections import new_plume_sensor
from cm_assets.defs.api_watch.runs import REFRESH_JOB
from cm_assets.defs.resources import FreshnessResource, StorageResource
from cm_assets_tests.helpers.replica import replica_resource

CATALOG = AssetKey("plume_catalog")
DOWNSTREAM = {AssetKey("sources"), AssetKey("source_stats"), AssetKey("warehouse")}
AUTOMATED = AssetSelection.assets(*DOWNSTREAM)
"""The assets with an automation condition (checked by the first test); evaluating only them is faster."""


def sensor_batch(defs: Definitions, instance: DagsterInstance, days: int) -> list:
    """The run requests of one ``new_plume_sensor`` tick that looks back far enough for ``days`` days."""
    resources = {**defs.resources, "freshness": FreshnessResource(lookback_days=120, max_runs_per_tick=days)}
    context = build_sensor_context(instance=instance, resources=resources, definitions=defs,
                                   sensor_name=new_plume_sensor.name)
    batch = new_plume_sensor.evaluate_tick(context).run_requests
    assert len(batch) == days
    return batch


def requested(defs: Definitions, instance: DagsterInstance, cursor, at: datetime | None = None):
    """One evaluation (now, or at ``at``): ({asset: number of requests}, next cursor)."""
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor, evaluation_time=at,
                                            asset_selection=AUTOMATED)
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    counts = {key.to_user_string(): result.get_num_requested(key) for key in keys}
    return {key: n for key, n in counts.items() if n}, result.cursor


@pytest.mark.fast
def test_the_sensors_job_refreshes_the_warehouse_and_leaves_sources_to_automation():
    job = project_defs.resolve_job_def(REFRESH_JOB)
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == \
        {"plume_catalog", "plume_products", "scene_crops", "warehouse"}
    sensor = project_defs.resolve_sensor_def(AUTOMATION_SENSOR)
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    graph = project_defs.resolve_asset_graph()
    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert automated == DOWNSTREAM
    assert sensor.asset_selection.resolve(graph) >= DOWNSTREAM


def test_twenty_days_of_one_tick_cost_one_downstream_refresh(local_replica, tmp_path):
    """The 20 days one sensor tick requests, materialized with the warehouse (as their runs report
    them): sources and statistics requested once, then the warehouse once after them, then nothing
    until something changes."""
    defs = build_definitions(replica_resource(local_replica), StorageResource(root=str(tmp_path)))
    with instance_for_test() as instance:
        counts, cursor = requested(defs, instance, None)
        assert counts == {}                          # the first evaluation only takes its bearings
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {}                          # nothing changed
        for request in sensor_batch(defs, instance, 20):
            instance.report_runless_asset_event(AssetMaterialization(CATALOG, partition=request.partition_key))
            instance.report_runless_asset_event(AssetMaterialization(AssetKey("warehouse")))
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {"sources": 1, "source_stats": 1}   # the warehouse is current
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {}                          # requested once: handled until the next change
        for key in ("sources", "source_stats"):
            instance.report_runless_asset_event(AssetMaterialization(AssetKey(key)))
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {"warehouse": 1}            # it now lags its sources
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {}


@pytest.mark.fast
def test_sources_are_listed_again_daily_at_four_utc(tmp_path):
    """Without a new plume, the daily cron tick of the sources (04:00 UTC) refreshes them, their
    statistics and the warehouse, once."""
    defs = build_definitions(storage=StorageResource(root=str(tmp_path)))
    with instance_for_test() as instance:
        _, cursor = requested(defs, instance, None, datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
        counts, cursor = requested(defs, instance, cursor, datetime(2026, 3, 2, 3, 59, tzinfo=UTC))
        assert counts == {}
        counts, cursor = requested(defs, instance, cursor, datetime(2026, 3, 2, 4, 1, tzinfo=UTC))
        assert counts == {"sources": 1, "source_stats": 1, "warehouse": 1}
        counts, cursor = requested(defs, instance, cursor, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        assert counts == {}


def test_the_refresh_waits_for_the_last_run_of_the_batch(local_replica, tmp_path):
    """Real runs of the sensors' job: while one run of the batch has not finished, nothing downstream
    is requested; after it, sources, statistics and the warehouse once; a run that refreshed the
    warehouse itself (``refresh_days``) asks for no second warehouse refresh."""
    defs = build_definitions(replica_resource(local_replica), StorageResource(root=str(tmp_path)))
    job = defs.resolve_job_def(REFRESH_JOB)
    with instance_for_test() as instance:
        _, cursor = requested(defs, instance, None)
        *done, last = sensor_batch(defs, instance, 3)
        waiting = instance.create_run_for_job(job, tags={**last.tags, "dagster/partition": last.partition_key},
                                              status=DagsterRunStatus.NOT_STARTED,
                                              asset_selection=frozenset({CATALOG}))
        for request in done:
            assert job.execute_in_process(partition_key=request.partition_key, tags=request.tags,
                                          instance=instance, asset_selection=[CATALOG]).success
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {}                          # one day of the batch is still to run
        instance.report_run_canceled(waiting)
        assert job.execute_in_process(partition_key=last.partition_key, tags=last.tags,
                                      instance=instance, asset_selection=[CATALOG]).success
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {"sources": 1, "source_stats": 1, "warehouse": 1}
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {}                          # the next tick: requested once

        assert defs.resolve_job_def("refresh_days").execute_in_process(
            partition_key=last.partition_key, instance=instance,
            asset_selection=[CATALOG, AssetKey("warehouse")]).success
        counts, cursor = requested(defs, instance, cursor)
        assert counts == {"sources": 1, "source_stats": 1}   # the catalog changed; the warehouse is current
