"""The freshness knobs reach the sensors as a resource: given in code, or bound to the deployment's
environment variables by ``build_definitions``."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, build_sensor_context

from cm_assets.definitions import build_definitions, defs
from cm_assets.defs.api_watch.new_detections import new_plume_sensor
from cm_assets.defs.resources import FRESHNESS_ENV, FreshnessResource, StorageResource
from cm_assets_tests.helpers.freshness import resource_for


def tick_days(replica, freshness: FreshnessResource, root) -> list[str]:
    """The days one first tick of ``new_plume_sensor`` requests with ``freshness``."""
    context = build_sensor_context(instance=DagsterInstance.ephemeral(), sensor_name=new_plume_sensor.name,
                                   definitions=defs,
                                   resources={"carbonmapper": resource_for(replica),
                                              "storage": StorageResource(root=str(root)),
                                              "freshness": freshness})
    return [r.partition_key for r in new_plume_sensor.evaluate_tick(context).run_requests]


def test_a_sensor_tick_honours_the_resource_max_runs_per_tick(replica, tmp_path) -> None:
    wide = tick_days(replica, FreshnessResource(lookback_days=60), tmp_path)
    assert 1 < len(wide) <= FreshnessResource().max_runs_per_tick
    capped = tick_days(replica, FreshnessResource(lookback_days=60, max_runs_per_tick=1), tmp_path)
    assert len(capped) == 1 and capped[0] in wide  # the rest waits for later ticks


def test_deployment_binds_the_environment_variables_resolved_at_each_tick(replica, tmp_path,
                                                                          monkeypatch) -> None:
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_LOOKBACK_DAYS", "60")
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_MAX_RUNS_PER_TICK", "1")
    freshness = build_definitions().resources["freshness"]
    assert len(tick_days(replica, freshness, tmp_path)) == 1
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_MAX_RUNS_PER_TICK", "3")  # an EnvVar: read when the tick runs
    assert len(tick_days(replica, freshness, tmp_path)) == 3


def test_unset_or_blank_variables_keep_the_documented_defaults(monkeypatch) -> None:
    for name in FRESHNESS_ENV.values():
        monkeypatch.setenv(name, " ")
    assert FreshnessResource.from_environment() == FreshnessResource()
    assert FreshnessResource() == FreshnessResource(lookback_days=3.0, max_runs_per_tick=20, max_plumes_per_tick=5000,
                                                    lag_days=30, give_up_days=90, max_scene_checks_per_tick=200)


def test_a_look_back_that_is_not_a_number_is_refused_by_name(monkeypatch) -> None:
    monkeypatch.setenv("CM_ASSETS_FRESHNESS_LOOKBACK_DAYS", "three")
    with pytest.raises(ValueError, match="CM_ASSETS_FRESHNESS_LOOKBACK_DAYS"):
        FreshnessResource.from_environment()
