"""A run against a rate-limited API: throttled, it adapts and loses no plume."""

from __future__ import annotations

import requests
from dagster import DagsterInstance

from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.storage.store import Storage
from cm_assets.defs.partitions import range_tags
from cm_assets_tests.helpers.replica import CREDENTIAL_ENV, replica_resource
from cm_assets_tests.helpers.graph import pick_days


def test_a_throttled_run_loses_no_plume(replica_factory, tmp_path):
    throttled = replica_factory(rate_limit=30, rate_window=3)  # 10 requests/s per token
    replica_resource(throttled)  # sets the credential variables
    days = pick_days(throttled)
    resource = CarbonMapperResource(api_url=throttled.api_url, rate_start=40.0, **CREDENTIAL_ENV)
    defs = build_definitions(resource, StorageResource(root=str(tmp_path)))
    no_plots = {"config": {"plots": False}}
    result = defs.resolve_job_def("refresh_days").execute_in_process(
        tags=range_tags(days[0], days[-1]), instance=DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"plume_products": no_plots, "scene_crops": no_plots}})
    assert result.success
    store = Storage(str(tmp_path))
    products = store.read_tables("products/day=*.parquet")
    crops = store.read_tables("crops/day=*.parquet")
    catalog = store.read_tables("catalog/day=*.parquet")
    assert len(products) == len(catalog) > 0
    assert products["error"].isna().all(), products["error"].dropna().tolist()
    assert not crops["status"].isin(["error"]).any(), crops[["plume_id", "status", "reason"]]
    stats = requests.get(f"{throttled.admin_url}/stats", timeout=30).json()
    assert sum(c["status"].get("429", 0) for c in stats["classes"].values()) > 0, "never throttled"
