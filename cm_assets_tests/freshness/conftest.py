"""Helpers of the freshness tests: resources and clients bound to a replica, sensor evaluation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from dagster import DagsterInstance, SensorDefinition, build_sensor_context

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.definitions import defs
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource
from cm_assets_tests.conftest import replica_resource
from cm_assets.replica.process import ReplicaProcess


def resource_for(replica: ReplicaProcess) -> CarbonMapperResource:
    return replica_resource(replica)


def client_for(replica: ReplicaProcess) -> CarbonMapperClient:
    return CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)


def advance(replica: ReplicaProcess, days: float) -> str:
    """Move the replica clock forward; returns the new instant."""
    response = requests.post(f"{replica.admin_url}/clock", json={"advance_seconds": days * 86400}, timeout=30)
    response.raise_for_status()
    return response.json()["now"]


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
