"""Helpers of the asset unit tests: one asset of one day materialized alone, in process, against a
replica; the days of the pinned world they use."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from dagster import AssetsDefinition, Config, DagsterInstance, ExecuteInProcessResult, RunConfig, materialize

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.carbonmapper.errors import SceneNotPublished
from cm_assets.defs.resources import FreshnessResource, StorageResource
from cm_assets_tests.helpers.replica import REPLICA_END, replica_resource


def plumes_per_day(replica, low: int = 45, high: int = 200) -> Counter:
    """Plumes (both gases) per observation day, ``high`` to ``low`` days before the world's end
    (old enough for most L2B scenes)."""
    end = datetime.combine(date.fromisoformat(REPLICA_END), datetime.min.time(), tzinfo=timezone.utc)
    window = (end - timedelta(days=high), end - timedelta(days=low))
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        return Counter(p["scene_timestamp"][:10] for gas in ("CH4", "CO2")
                       for p in client.iter_plume_payloads(gas=gas, observed=window))


def one_plume_day(replica) -> str:
    """The latest day with exactly one plume whose L2B scene is published."""
    per_day = plumes_per_day(replica)
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        for day in sorted((d for d, n in per_day.items() if n == 1), reverse=True):
            start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
            (record,) = [p for gas in ("CH4", "CO2")
                         for p in client.iter_plumes(gas=gas, observed=(start, start + timedelta(days=1)))]
            try:
                client.scene_for_plume(record)
            except SceneNotPublished:
                continue
            return day
    raise AssertionError(f"no one-plume day with a published scene: {per_day}")


def run_asset(asset: AssetsDefinition, replica, root: Path, day: str | None = None,
              config: Config | None = None) -> ExecuteInProcessResult:
    """Materialize ``asset`` alone (for partition ``day`` when it is partitioned), in this process, with
    the replica's client, the data root ``root`` and the default freshness knobs as its resources and ``config`` as its config."""
    resources = {"carbonmapper": replica_resource(replica), "storage": StorageResource(root=str(root)),
                 "freshness": FreshnessResource()}
    wanted = {key: value for key, value in resources.items() if key in asset.required_resource_keys}
    run_config = RunConfig(ops={asset.op.name: config}) if config is not None else None
    return materialize([asset], partition_key=day, resources=wanted, run_config=run_config,
                       instance=DagsterInstance.ephemeral())


def check_results(result: ExecuteInProcessResult) -> dict[str, bool]:
    """Whether each asset check of the run passed, by check name."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def materialization_metadata(result: ExecuteInProcessResult, asset: AssetsDefinition) -> dict[str | None, dict]:
    """The metadata values of each materialization of ``asset`` in the run, by partition."""
    return {m.partition: {k: v.value for k, v in m.metadata.items()}
            for m in result.asset_materializations_for_node(asset.op.name)}
