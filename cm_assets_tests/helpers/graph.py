"""Helpers of the asset-graph tests: days of the replica world to build, and the whole graph built
for them in one run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.storage.store import Storage
from cm_assets.defs.partitions import range_tags
from cm_assets_tests.helpers.replica import REPLICA_END, replica_resource


def client_resource(replica) -> CarbonMapperResource:
    return replica_resource(replica)


def pick_days(replica, count: int = 2, low: int = 2, high: int = 4) -> list[str]:
    """Consecutive-ish observation days with a few plumes each, old enough for most L2B scenes."""
    end = date.fromisoformat(REPLICA_END)
    window = (datetime.combine(end - timedelta(days=200), datetime.min.time(), tzinfo=timezone.utc),
              datetime.combine(end - timedelta(days=45), datetime.min.time(), tzinfo=timezone.utc))
    client = CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)
    per_day = Counter(p["scene_timestamp"][:10] for gas in ("CH4", "CO2")
                      for p in client.iter_plume_payloads(gas=gas, observed=window))
    fitting = sorted(day for day, n in per_day.items() if low <= n <= high)
    assert len(fitting) >= count, f"no {count} days with {low}-{high} plumes: {per_day}"
    return fitting[-count:]


@dataclass
class Built:
    days: list[str]
    root: Path
    store: Storage
    defs: object
    result: ExecuteInProcessResult
    instance: DagsterInstance

    @property
    def database(self) -> Path:
        return self.root / "cm.duckdb"


def build_graph(replica, root: Path, days: list[str]) -> Built:
    """The whole graph for ``days`` in one run (single-run backfill of the range)."""
    defs = build_definitions(client_resource(replica), StorageResource(root=str(root)))
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("refresh_all").execute_in_process(
        tags=range_tags(days[0], days[-1]), instance=instance, raise_on_error=False)
    return Built(days, root, Storage(str(root)), defs, result, instance)
