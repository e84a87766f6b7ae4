"""Fixtures of the API-watching tests: sensor evaluation against a replica."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dagster import DagsterInstance, SensorDefinition, build_sensor_context

from cm_assets.definitions import defs
from cm_assets.defs.resources import FreshnessResource, StorageResource
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.freshness import resource_for


@pytest.fixture
def evaluate(tmp_path) -> Callable:
    """``evaluate(sensor, replica, cursor, freshness)`` → the tick (run requests validated against the
    real job); the freshness knobs are the documented defaults unless ``freshness`` is given."""
    instance = DagsterInstance.ephemeral()

    def run(sensor: SensorDefinition, replica: ReplicaProcess, cursor: str | None = None,
            freshness: FreshnessResource | None = None):
        resources = {"carbonmapper": resource_for(replica), "storage": StorageResource(root=str(tmp_path)),
                     "freshness": freshness or FreshnessResource()}
        context = build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                       sensor_name=sensor.name, definitions=defs)
        return sensor.evaluate_tick(context)

    return run
