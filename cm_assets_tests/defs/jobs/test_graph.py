"""The whole asset graph against the replica: real files, real checks, real DuckDB."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import rasterio
from dagster import AssetKey

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.catalog.drift import DRIFT_CHECK
from cm_assets.defs.partitions import day_window
from cm_assets.storage import layout
from cm_assets.sql.query import run_query
from cm_assets.sql.schema import TABLES

ERROR_CHECKS = {"schema", "unique_plume_ids", "valid_geometries", "non_negative_emissions",
                "valid_outlines", "raster_nodata_fraction", "crop_nodata_fraction"}


def _partitions(result, asset: str) -> set[str]:
    return {e.partition for e in result.get_asset_materialization_events()
            if e.asset_key == AssetKey(asset)}


def test_one_run_materializes_every_partition_and_asset(built):
    assert built.result.success
    assert len(built.instance.get_run_records()) == 1
    days = set(pd.date_range(built.days[0], built.days[-1]).strftime("%Y-%m-%d"))
    for asset in ("plume_catalog", "plume_products", "scene_crops"):
        assert _partitions(built.result, asset) == days
    for asset in ("sources", "source_stats", "warehouse"):
        assert _partitions(built.result, asset) == {None}


def test_catalog_holds_every_published_plume_of_the_day(built, replica):
    client = CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)
    for day in built.days:
        expected = {p["plume_id"] for gas in ("CH4", "CO2")
                    for p in client.iter_plume_payloads(gas=gas, observed=day_window(day))}
        frame = built.store.read_parquet(f"catalog/day={day}.parquet")
        assert set(frame["plume_id"]) == expected and len(frame) == len(expected)
        assert frame.crs.to_epsg() == 4326 and frame["scene_name"].notna().all()
        assert (frame["observation_day"] == day).all()


def test_checks_follow_the_assets_and_pass(built):
    evaluations = {e.check_name: e for e in built.result.get_asset_check_evaluations()}
    assert ERROR_CHECKS | {"ime_agreement", "artifact_overlap"} | {DRIFT_CHECK} == set(evaluations)
    failed = {name for name in ERROR_CHECKS | {DRIFT_CHECK} if not evaluations[name].passed}
    assert not failed, {name: evaluations[name].metadata for name in failed}


def test_products_are_stored_and_measured(built):
    frame = built.store.read_tables("products/day=*.parquet")
    assert len(frame) and frame["error"].isna().all()
    for row in frame.itertuples():
        with rasterio.open(row.concentrations_path) as dataset:
            assert dataset.count == 1 and dataset.crs is not None
        assert json.loads(open(row.outline_path).read())["type"] in ("Polygon", "MultiPolygon", "Feature",
                                                                      "FeatureCollection")
        assert open(row.quicklook_png, "rb").read(4) == b"\x89PNG"
    assert (frame["outline_area_m2"] > 0).all() and (frame["mask_pixels"] > 0).all()
    ratios = frame["emission_ratio"].dropna()
    assert len(ratios) and ((ratios - 1).abs() < 0.05).mean() >= 0.5


def test_scene_crops_are_windowed_cogs_or_deferred(built):
    frame = built.store.read_tables("crops/day=*.parquet")
    assert set(frame["status"]) <= {"ok", "deferred", "gave_up"}
    ok = frame[frame["status"] == "ok"]
    assert len(ok), "expected at least one published L2B scene in the test days"
    for row in ok.itertuples():
        with rasterio.open(row.cmf_path) as dataset:
            assert (dataset.height, dataset.width) == (row.crop_height, row.crop_width)
            assert dataset.height >= 2 * 64 and dataset.width >= 2 * 64  # pad on both sides
        assert open(row.comparison_png, "rb").read(4) == b"\x89PNG"
    assert ok["resolution_m"].gt(0).all() and ok["snr_max"].notna().all()


def _metadata_by_day(result, asset: str) -> dict:
    return {e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()
            if e.asset_key == AssetKey(asset)}


def test_materializations_carry_schema_preview_and_pictures(built):
    for catalog in _metadata_by_day(built.result, "plume_catalog").values():
        assert {"dagster/row_count", "preview"} <= set(catalog)
    # the catalog's schema is its definition's metadata (not repeated in each day's event)
    [spec] = plume_catalog.specs
    assert [c.name for c in spec.metadata["dagster/column_schema"].columns] == list(TABLES["plumes"])
    previews = [m["quicklook_png_preview"].value for m in _metadata_by_day(built.result, "plume_products").values()
                if "quicklook_png_preview" in m]
    assert previews and all("data:image/png;base64," in p for p in previews)
    stats = _metadata_by_day(built.result, "source_stats")[None]
    timelines = built.store.read_parquet(layout.SOURCE_STATS).dropna(subset=["timeline_png"])
    assert len(timelines) and "data:image/png;base64," in stats["timeline_preview"].value
    assert stats["timeline_top"].value == _highest(timelines, "site_emission")["timeline_png"]


def _highest(pictured: pd.DataFrame, rank: str) -> pd.Series:
    """The row of ``pictured`` with the highest ``rank`` (unranked rows last)."""
    return pictured.sort_values(rank, ascending=False, na_position="last", kind="stable").iloc[0]


@pytest.mark.parametrize(("asset", "table", "picture", "rank"), [
    ("plume_catalog", "plumes", None, None),
    ("plume_products", "plume_products", "quicklook_png", "emission_auto"),
    ("scene_crops", "scene_crops", "comparison_png", "snr_max"),
])
def test_each_day_of_a_run_has_its_own_count_path_and_picture(built, asset, table, picture, rank):
    per_day = _metadata_by_day(built.result, asset)
    assert len(per_day) >= 2
    total = 0
    for day, metadata in per_day.items():
        rows = built.store.read_parquet(layout.day_table(table, day))
        assert metadata["dagster/row_count"].value == len(rows)
        assert metadata["path"].value == built.store.uri(layout.day_table(table, day))
        assert metadata["days"].value == len(per_day)  # the one run-wide entry
        total += len(rows)
        if picture is None:
            continue
        pictured = rows.dropna(subset=[picture])
        if len(pictured):
            assert metadata[f"{picture}_top"].value == _highest(pictured, rank)[picture]
            assert "data:image/png;base64," in metadata[f"{picture}_preview"].value
        else:
            assert f"{picture}_top" not in metadata
    assert total == len(built.store.read_tables(layout.day_table_glob(table))) > 0


def test_warehouse_views_join_everything(built):
    counts = dict(run_query(built.database, """
        SELECT 'plumes', count(*) FROM plumes UNION ALL SELECT 'enriched', count(*) FROM plumes_enriched
        UNION ALL SELECT 'products', count(*) FROM plume_products
        UNION ALL SELECT 'crops', count(*) FROM scene_crops
        UNION ALL SELECT 'sources', count(*) FROM sources
        UNION ALL SELECT 'stats', count(*) FROM source_stats""")[1])
    assert counts["plumes"] == counts["enriched"] == counts["products"] == counts["crops"] > 0
    assert counts["sources"] >= counts["stats"]
    _, rows = run_query(built.database, """
        SELECT count(*) FROM plumes_enriched p JOIN sources s USING (source_name)
        WHERE ST_Distance_Sphere(p.geometry, s.geometry) < 5000""")
    _, attributed = run_query(built.database, "SELECT count(*) FROM plume_sources")
    assert rows[0][0] == attributed[0][0]
    _, stats = run_query(built.database, "SELECT min(detections), min(persistence_recomputed), "
                                         "max(persistence_recomputed) FROM source_stats")
    if stats[0][0] is not None:
        assert stats[0][0] >= 1 and 0 < stats[0][1] <= stats[0][2] <= 1


@pytest.mark.parametrize(("document", "at_least"), [("docs/pipeline.md", 5), ("README.md", 3)])
def test_documented_queries_run(built, document, at_least):
    text = (Path(__file__).parents[3] / document).read_text()
    queries = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert len(queries) >= at_least
    for query in queries:
        columns, _ = run_query(built.database, query)
        assert columns, query
