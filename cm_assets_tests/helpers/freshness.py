"""Helpers of the freshness tests: resources and clients bound to a replica, its clock moved."""

from __future__ import annotations

import requests

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.resources import CarbonMapperResource
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.replica import replica_resource


def resource_for(replica: ReplicaProcess) -> CarbonMapperResource:
    return replica_resource(replica)


def client_for(replica: ReplicaProcess) -> CarbonMapperClient:
    return CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)


def advance(replica: ReplicaProcess, days: float) -> str:
    """Move the replica clock forward; returns the new instant."""
    response = requests.post(f"{replica.admin_url}/clock", json={"advance_seconds": days * 86400}, timeout=30)
    response.raise_for_status()
    return response.json()["now"]
