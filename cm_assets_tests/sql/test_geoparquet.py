"""Every geometry table is written as GeoParquet 1.1: checked against the spec's ``geo`` metadata
and read back by pyarrow, DuckDB spatial and geopandas (GDAL here has no Parquet driver)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import Point, box

from cm_assets.storage.store import ROW_GROUP_ROWS, Storage
from cm_assets.sql.db import connect
from cm_assets.sql.schema import TABLES, conform, geometry_columns
from cm_assets_tests.helpers.samples import catalog, payload

pytestmark = pytest.mark.fast

GEOMETRY_TABLES = [t for t in TABLES if geometry_columns(t)]
BBOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")


def sample(table: str) -> gpd.GeoDataFrame:
    """Three rows of ``table``: two geometries and, except for the catalog, a missing one."""
    if table == "plumes":
        frame, _ = catalog("2026-10-01", [payload("A"), payload("B", geometry_json={
            "type": "Point", "coordinates": [12.5, -3.25]})])
        return frame
    shapes = [box(-104.0, 31.9, -103.8, 32.1), Point(12.5, -3.25).buffer(0.01), None]
    data = {name: shapes for name in geometry_columns(table)}
    data[next(iter(TABLES[table]))] = ["a", "b", "c"]
    return conform(pd.DataFrame(data), table)


@pytest.mark.parametrize("table", GEOMETRY_TABLES)
def test_geo_metadata_follows_geoparquet_1_1(tmp_path, table):
    frame = sample(table)
    uri = Storage(str(tmp_path)).write_parquet(frame, f"{table}.parquet")
    parquet = pq.ParquetFile(uri)
    geo = json.loads(parquet.schema_arrow.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert set(geo["columns"]) == set(geometry_columns(table))
    for name, column in geo["columns"].items():
        assert column["encoding"] == "WKB" and isinstance(column["geometry_types"], list)
        assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}  # PROJJSON, explicit
        bounds = frame[name].dropna().total_bounds
        assert column.get("bbox", list(bounds)) == pytest.approx(list(bounds))
    primary = geo["columns"]["geometry"]
    assert primary["covering"] == {"bbox": {k: ["bbox", k] for k in BBOX_FIELDS}}
    bbox_type = parquet.schema_arrow.field("bbox").type
    assert [bbox_type.field(i).name for i in range(bbox_type.num_fields)] == list(BBOX_FIELDS)
    assert all(pa.types.is_floating(bbox_type.field(i).type) for i in range(4))
    # one row group per small table; never more rows per group than the configured size
    assert parquet.metadata.num_row_groups == 1
    assert parquet.metadata.row_group(0).num_rows <= ROW_GROUP_ROWS
    # the covering column holds each row's bounds (null where there is no geometry)
    stored = parquet.read(columns=["bbox"]).column("bbox").to_pylist()
    for shape, cover in zip(frame.geometry, stored):
        assert (cover is None or cover["xmin"] is None) if shape is None else \
            [cover[k] for k in BBOX_FIELDS] == pytest.approx(list(shape.bounds))


@pytest.mark.parametrize("table", GEOMETRY_TABLES)
def test_duckdb_spatial_and_geopandas_read_the_geometries(tmp_path, table):
    frame = sample(table)
    uri = Storage(str(tmp_path)).write_parquet(frame, f"{table}.parquet")
    back = gpd.read_parquet(uri)
    assert back.crs.to_epsg() == 4326
    assert list(back.geometry.to_wkt()) == list(frame.geometry.to_wkt())

    con = connect()
    rows = con.execute("SELECT typeof(geometry), ST_AsWKB(geometry) FROM read_parquet(?)", [uri]).fetchall()
    assert {kind for kind, _ in rows} == {"GEOMETRY('EPSG:4326')"}  # geometry with the file's CRS
    read = [None if wkb is None else shapely.from_wkb(bytes(wkb)) for _, wkb in rows]
    assert all(a is None and b is None or a.equals_exact(b, 1e-12) for a, b in zip(read, frame.geometry))
    # a box filter on the covering column finds exactly the rows whose bounds meet it
    [(inside,)] = con.execute("SELECT count(*) FROM read_parquet(?) WHERE bbox.xmax >= -105 "
                              "AND bbox.xmin <= -103 AND bbox.ymax >= 31 AND bbox.ymin <= 33", [uri]).fetchall()
    assert inside == sum(1 for g in frame.geometry if g is not None and g.bounds[0] < 0)
    con.close()


def test_a_rewrite_changes_the_file_version(tmp_path):
    for root in (str(tmp_path), "memory://cm-assets-versions"):
        store = Storage(root)
        store.write_parquet(sample("sources"), "sources/sources.parquet")
        first = store.fingerprints("sources/*.parquet")
        assert store.fingerprints("sources/*.parquet") == first
        store.write_parquet(sample("sources"), "sources/sources.parquet")  # same bytes, new file
        second = store.fingerprints("sources/*.parquet")
        assert list(second) == list(first) and second != first
