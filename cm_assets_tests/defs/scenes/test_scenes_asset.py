"""``scene_crops`` invoked directly for a day of one plume (catalog and products written first)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from cm_assets.carbonmapper.geo import reproject_geometry
from cm_assets.storage import layout
from cm_assets_tests.helpers.assets import check_results

pytestmark = pytest.mark.fast


def test_the_scene_is_cropped_around_the_plume_outline(crops_stage):
    store, day = crops_stage.store, crops_stage.day
    products = store.read_parquet(layout.products_day(day))
    crops = store.read_parquet(layout.crops_day(day))
    assert list(crops["plume_id"]) == list(products["plume_id"])
    row = crops.iloc[0]
    assert row["status"] == "ok", row["reason"]
    with rasterio.open(row["cmf_path"]) as dataset:
        footprint = reproject_geometry(box(*dataset.bounds), dataset.crs, "EPSG:4326")
        assert dataset.width > 2 * row["pad_px"] and dataset.height > 2 * row["pad_px"]
    assert footprint.buffer(1e-9).contains(products.iloc[0].geometry)
    assert row.geometry.equals_exact(footprint, 1e-9)
    assert 0 <= row["cmf_nodata_fraction"] < 1
    assert all(check_results(crops_stage.result).values())


def test_a_plume_whose_products_failed_is_cropped_around_its_catalog_bounds(crops_stage, tmp_path):
    """A products row of a failed plume (error, no outline, no figures) next to a good one: the
    failed plume's outline is the catalog's plume bounds, the good one keeps its product outline."""
    from cm_assets.defs.scenes.assets import _outlines
    from cm_assets.storage.store import Storage

    source, day = crops_stage.store, crops_stage.day
    store = Storage(str(tmp_path))
    catalog = source.read_parquet(layout.catalog_day(day))
    catalog = pd.concat([catalog, catalog.assign(plume_id=catalog["plume_id"] + "-2")], ignore_index=True)
    store.write_parquet(catalog, layout.catalog_day(day))
    good = source.read_parquet(layout.products_day(day))
    failed = good.copy()
    for column in failed.columns:
        if str(failed[column].dtype) == "geometry":
            failed[column] = gpd.GeoSeries([None] * len(failed), crs=good.crs, index=failed.index)
        elif column not in ("plume_id", "observation_day"):
            failed[column] = None
    failed = failed.assign(plume_id=failed["plume_id"] + "-2", error="RuntimeError: boom")
    store.write_parquet(pd.concat([good, failed], ignore_index=True), layout.products_day(day))
    outlines = _outlines(store, day, log=None)
    catalog = catalog.set_index("plume_id")
    good_id, failed_id = good["plume_id"].iloc[0], failed["plume_id"].iloc[0]
    assert outlines.loc[good_id, "outline"].equals(good.geometry.iloc[0])
    west, south, east, north = catalog.loc[failed_id, ["bounds_west", "bounds_south", "bounds_east", "bounds_north"]]
    assert outlines.loc[failed_id, "outline"].equals(box(west, south, east, north))
    assert pd.isna(outlines.loc[failed_id, "l3a_path"])
