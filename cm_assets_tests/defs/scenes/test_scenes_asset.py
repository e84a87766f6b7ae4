"""``scene_crops`` invoked directly for a day of one plume (catalog and products written first)."""

from __future__ import annotations

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
