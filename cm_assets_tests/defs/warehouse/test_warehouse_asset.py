"""``warehouse`` invoked directly after one day of catalog, products and crops."""

from __future__ import annotations

import pytest

from cm_assets.defs.warehouse.assets import warehouse
from cm_assets.storage import layout
from cm_assets.sql.db import connect
from cm_assets_tests.helpers.assets import materialization_metadata

pytestmark = pytest.mark.fast


def test_the_refresh_loads_the_day_into_duckdb(warehouse_stage):
    store, day = warehouse_stage.store, warehouse_stage.day
    catalog = store.read_parquet(layout.catalog_day(day))
    con = connect(warehouse_stage.root / layout.WAREHOUSE, read_only=True, spatial=False)
    try:
        plumes = sorted(r[0] for r in con.execute("SELECT plume_id FROM plumes").fetchall())
        crops = con.execute("SELECT plume_id, status FROM scene_crops").fetchall()
        products = con.execute("SELECT count(*) FROM plume_products").fetchone()[0]
    finally:
        con.close()
    assert plumes == sorted(catalog["plume_id"])
    assert crops == [(plumes[0], "ok")] and products == 1
    metadata = materialization_metadata(warehouse_stage.result, warehouse)[None]
    assert metadata["rows_plumes"] == len(plumes) and metadata["rows_scene_crops"] == 1
