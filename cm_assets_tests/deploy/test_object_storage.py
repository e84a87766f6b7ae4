"""The data root on object storage: the whole graph with ``CM_ASSETS_DATA_ROOT=s3://...`` against an
S3-compatible server (moto's, started here) and the warehouse as the shared DuckLake (catalog in
PostgreSQL, data files on the same S3), COGs and GeoParquet read back, and writes that are never
visible half-done."""

from __future__ import annotations

import threading

import geopandas as gpd
import pytest
import rasterio
from dagster import DagsterInstance

from cm_assets.definitions import build_definitions
from cm_assets.storage.store import Storage
from cm_assets.defs.partitions import range_tags
from cm_assets.sql.query import run_query
from cm_assets_tests.deploy.services import BUCKET, PG_DB, PG_PASSWORD, PG_USER
from cm_assets_tests.helpers.client import admin
from cm_assets_tests.helpers.graph import pick_days

pytestmark = pytest.mark.deploy

@pytest.fixture(scope="module")
def s3_graph(s3, postgres, replica) -> dict:
    """The whole graph for two days: data root on S3, the warehouse a DuckLake with its catalog in
    PostgreSQL and its data files on S3."""
    days = pick_days(replica, count=2)
    root = f"s3://{BUCKET}/graph"
    warehouse = f"ducklake:postgres:host=127.0.0.1 port={postgres.port} dbname={PG_DB} user={PG_USER}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"CARBONMAPPER_API_URL": replica.api_url, "CARBONMAPPER_EMAIL": replica.email,
                            "CARBONMAPPER_PASSWORD": replica.password, "CM_ASSETS_DATA_ROOT": root,
                            "CM_ASSETS_WAREHOUSE": warehouse, "PGPASSWORD": PG_PASSWORD,
                            "CM_ASSETS_WAREHOUSE_DATA_PATH": f"s3://{BUCKET}/lake/"}.items():
            patch.setenv(name, value)
        patch.delenv("CARBONMAPPER_TOKEN", raising=False)
        before = _l3a_requests(replica)
        result = build_definitions().resolve_job_def("refresh_all").execute_in_process(
            tags=range_tags(days[0], days[-1]), instance=DagsterInstance.ephemeral(), raise_on_error=False)
        counts = {view: run_query(warehouse, f"SELECT count(*) FROM {view}")[1][0][0]
                  for view in ("plumes", "plume_products", "scene_crops", "source_stats")} \
            if result.success else {}
    return {"days": days, "root": root, "result": result, "store": Storage(root), "counts": counts,
            "l3a_requests": _l3a_requests(replica) - before}


def _l3a_requests(replica) -> int:
    """Requests for per-plume (L3A) product files the replica has served so far."""
    return sum(n for path, n in admin(replica, "GET", "/stats/paths")["paths"].items() if "/l3a-" in path)


def test_the_graph_writes_its_tables_and_rasters_to_s3(s3_graph):
    result, store, days = s3_graph["result"], s3_graph["store"], s3_graph["days"]
    assert result.success
    assert not store.is_local
    catalog = store.read_tables("catalog/day=*.parquet")
    assert isinstance(catalog, gpd.GeoDataFrame) and len(catalog)
    assert sorted(set(catalog["observation_day"].astype(str))) == days
    assert catalog.crs is not None and catalog.geometry.is_valid.all()
    for table in ("products/day=*.parquet", "crops/day=*.parquet"):
        assert len(store.read_tables(table)), table
    for table in ("sources/sources.parquet", "sources/source_stats.parquet"):
        assert store.exists(table), table
    quicklooks = store.read_tables("products/day=*.parquet")["quicklook_png"]
    assert quicklooks.notna().all() and all(uri.startswith(s3_graph["root"] + "/plots/") and
                                            store.fs.cat_file(uri)[:4] == b"\x89PNG" for uri in quicklooks)
    assert store.glob("**/.*.tmp") == [], "temporary objects left behind"


def test_each_product_file_is_fetched_once(s3_graph):
    """Measured from the copy the download left, not fetched again to be read after the upload."""
    products = s3_graph["store"].read_tables("products/day=*.parquet")
    stored = int(products[[c for c in products if c.endswith("_path")]].notna().sum().sum())
    assert stored and s3_graph["l3a_requests"] == stored


def test_the_shared_warehouse_holds_what_the_graph_wrote_to_s3(s3_graph, s3):
    store, counts = s3_graph["store"], s3_graph["counts"]
    assert counts["plumes"] == len(store.read_tables("catalog/day=*.parquet"))
    assert counts["plume_products"] == len(store.read_tables("products/day=*.parquet"))
    assert counts["scene_crops"] == len(store.read_tables("crops/day=*.parquet"))
    assert counts["source_stats"] == len(store.read_parquet("sources/source_stats.parquet"))
    lake_files = store.fs.glob(f"{BUCKET}/lake/**/*.parquet")
    assert lake_files, "the lake's data files are not on S3"


def test_cogs_on_s3_read_back_as_cogs(s3_graph):
    store = s3_graph["store"]
    crops = store.read_tables("crops/day=*.parquet")
    done = crops[crops["cmf_path"].notna()]
    assert len(done), crops["status"].tolist()
    row = done.iloc[0]
    assert row["cmf_path"].startswith(s3_graph["root"] + "/")
    rel = row["cmf_path"][len(s3_graph["root"]) + 1:]
    with store.fs.open(store.uri(rel), "rb") as fh, rasterio.MemoryFile(fh.read()) as memory, \
            memory.open() as dataset:
        assert dataset.profile["tiled"] and dataset.driver == "GTiff"
        assert (dataset.height, dataset.width) == (row["crop_height"], row["crop_width"])
        assert dataset.read(1).shape == (row["crop_height"], row["crop_width"])


def test_an_object_is_replaced_whole_or_not_at_all(s3):
    store = Storage(f"s3://{BUCKET}/atomic")
    old, new = b"a" * (1 << 20), b"b" * (12 << 20)  # the new one goes up in several parts
    store.write_bytes("table.parquet", old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            data = store.fs.cat_file(store.uri("table.parquet"))
            seen.add(data[:1] + str(len(data)).encode())
            store.fs.invalidate_cache()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        store.write_bytes("table.parquet", new)
    finally:
        stop.set()
        watcher.join()
    assert seen <= {b"a" + str(len(old)).encode(), b"b" + str(len(new)).encode()}, seen
    assert store.fs.cat_file(store.uri("table.parquet")) == new

    with pytest.raises(RuntimeError), store.atomic("table.parquet") as tmp:
        with store.fs.open(tmp, "wb") as fh:
            fh.write(b"c" * (6 << 20))
        raise RuntimeError("killed while writing")
    store.fs.invalidate_cache()
    assert store.fs.cat_file(store.uri("table.parquet")) == new
    assert store.glob("**/.*.tmp") == [] and store.glob(".*.tmp") == []
