"""``plume_products`` invoked directly for a day of one plume (its catalog written first)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import rasterio

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.products.assets import PRODUCT_FILES, plume_row
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
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


class AllAtOnce(ThreadPoolExecutor):
    """Runs each call only once ``parties`` calls are running together (a barrier): a caller that
    waited for one file before asking for the next would break it."""

    def __init__(self, parties: int) -> None:
        super().__init__(max_workers=parties)
        self.barrier = threading.Barrier(parties, timeout=60)

    def submit(self, fn, /, *args, **kwargs):
        def together():
            self.barrier.wait()
            return fn(*args, **kwargs)
        return super().submit(together)


def test_a_plumes_seven_files_are_asked_for_together(local_replica, products_stage, tmp_path):
    store = Storage(str(tmp_path))
    day = products_stage.day
    (plume_id,) = products_stage.store.read_parquet(layout.products_day(day))["plume_id"]
    with CarbonMapperClient(local_replica.api_url, email=local_replica.email,
                            password=local_replica.password) as client, AllAtOnce(len(PRODUCT_FILES)) as files:
        row = plume_row(client, client.get_plume(plume_id), store, day, False, files)
    assert row["n_missing"] == 0
    assert all(Path(row[f"{name}_path"]).is_file() for name in PRODUCT_FILES)
