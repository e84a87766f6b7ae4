"""Reading GeoParquet: the same frame as geopandas, each CRS parsed once."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from cm_assets.storage.store import Storage

pytestmark = pytest.mark.fast


def _frame(crs) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({
        "plume_id": ["a", "b", "c"],
        "emission": [1.5, None, 3.0],
        "seen_at": pd.to_datetime(["2026-03-04T01:02:03Z", None, "2026-03-05T00:00:00Z"], utc=True),
        "outline": gpd.GeoSeries([box(0, 0, 1, 1), None, box(2, 2, 3, 3)], crs=crs),
        "geometry": gpd.GeoSeries([Point(0.5, 0.5), Point(1, 1), None], crs=crs),
    }, geometry="geometry", crs=crs)
    return frame


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32611", None])
def test_read_equals_geopandas_without_the_covering_column(tmp_path, crs):
    store = Storage(str(tmp_path))
    store.write_parquet(_frame(crs), "t/day=2026-03-04.parquet")
    data = (tmp_path / "t" / "day=2026-03-04.parquet").read_bytes()
    ours = store.read_parquet("t/day=2026-03-04.parquet")
    theirs = gpd.read_parquet(io.BytesIO(data))
    assert "bbox" in pd.read_parquet(io.BytesIO(data)).columns  # the file has the covering column
    assert list(ours.columns) == list(theirs.columns)
    assert ours.geometry.name == theirs.geometry.name == "geometry"
    assert_geodataframe_equal(ours, theirs, check_dtype=True, check_crs=True)
    assert ours["outline"].crs == theirs["outline"].crs


def test_each_crs_is_parsed_once(tmp_path):
    store = Storage(str(tmp_path))
    for day in ("2026-03-04", "2026-03-05"):
        store.write_parquet(_frame("EPSG:4326"), f"t/day={day}.parquet")
    first = store.read_parquet("t/day=2026-03-04.parquet")
    second = store.read_parquet("t/day=2026-03-05.parquet")
    assert first.crs is second.crs
    assert first.crs == "EPSG:4326"


def test_a_table_without_geometry_stays_a_dataframe(tmp_path):
    store = Storage(str(tmp_path))
    store.write_parquet(pd.DataFrame({"a": [1], "at": [datetime(2026, 3, 4, tzinfo=timezone.utc)]}), "t/x.parquet")
    table = store.read_parquet("t/x.parquet")
    assert not isinstance(table, gpd.GeoDataFrame)
    assert table["at"].iloc[0] == pd.Timestamp("2026-03-04", tz="UTC")
