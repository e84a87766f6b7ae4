"""``plume_products`` invoked directly for a day of one plume (its catalog written first)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

from cm_assets.storage import layout
from cm_assets_tests.helpers.assets import check_results

pytestmark = pytest.mark.fast

RASTERS = ("mask", "concentrations", "ime_concentrations", "ime_mask", "rgb")


def test_the_plume_gets_its_rasters_outlines_statistics_and_quicklook(products_stage):
    store, day = products_stage.store, products_stage.day
    catalog = store.read_parquet(layout.catalog_day(day))
    table = store.read_parquet(layout.products_day(day))
    assert list(table["plume_id"]) == list(catalog["plume_id"]) and len(table) == 1
    row = table.iloc[0]
    assert row["n_missing"] == 0 and table["error"].isna().all()
    for name in RASTERS:
        with rasterio.open(row[f"{name}_path"]) as dataset:
            assert dataset.width > 0 and dataset.crs is not None, name
    assert Path(row["outline_path"]).read_text().strip().startswith("{")
    assert row["mask_pixels"] > 0 and row["outline_area_m2"] > 0
    assert row.geometry.is_valid and row.geometry.area > 0
    assert Path(row["quicklook_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    checks = check_results(products_stage.result)
    assert set(checks) == {"valid_outlines", "raster_nodata_fraction", "ime_agreement"}
    assert checks["valid_outlines"]
