"""GeoArray, COG writing, crop windows and the mask-alpha outline: local files only."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.products import alpha_outline
from cm_assets.carbonmapper.scenes import _window

pytestmark = pytest.mark.fast

TRANSFORM = from_origin(500000.0, 3600000.0, 30.0, 30.0)


def test_to_cog_roundtrip(tmp_path):
    values = np.arange(2 * 300 * 200, dtype="float32").reshape(2, 300, 200)
    geo = GeoArray(values, TRANSFORM, rasterio.crs.CRS.from_epsg(32613), -9999.0)
    assert geo.bounds == (500000.0, 3600000.0 - 9000.0, 506000.0, 3600000.0)
    path = geo.to_cog(tmp_path / "sub" / "x.tif")
    assert [p.name for p in path.parent.iterdir()] == ["x.tif"]  # no temporary left behind
    with rasterio.open(path) as ds:
        assert ds.driver == "GTiff" and ds.block_shapes[0] != (1, 100) and ds.nodata == -9999.0
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        np.testing.assert_array_equal(ds.read(), values)
        assert ds.crs.to_epsg() == 32613



def _cog_bytes(values: np.ndarray, path, **options) -> bytes:
    profile = {"driver": "COG", "width": values.shape[2], "height": values.shape[1], "count": values.shape[0],
               "dtype": values.dtype.name, "crs": rasterio.crs.CRS.from_epsg(32613), "transform": TRANSFORM,
               "nodata": -9999.0, "compress": "DEFLATE", **options}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values)
    return path.read_bytes()


def test_a_crop_sized_cog_is_one_tile_of_its_own_size_and_a_large_one_gets_overviews(tmp_path):
    rng = np.random.default_rng(3)
    small = rng.random((1, 190, 188), dtype="float32")
    written = GeoArray(small, TRANSFORM, rasterio.crs.CRS.from_epsg(32613), -9999.0).to_cog(tmp_path / "s.tif")
    with rasterio.open(written) as ds:
        assert ds.block_shapes[0] == (192, 192) and ds.overviews(1) == []
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        np.testing.assert_array_equal(ds.read(), small)
    assert written.stat().st_size < len(_cog_bytes(small, tmp_path / "driver-default.tif"))  # 512 px tile
    large = rng.random((1, 1200, 900), dtype="float32")
    path = GeoArray(large, TRANSFORM, rasterio.crs.CRS.from_epsg(32613), -9999.0).to_cog(tmp_path / "l.tif")
    with rasterio.open(path) as ds:
        assert ds.overviews(1) == [2, 4] and ds.block_shapes[0] == (512, 512)
        np.testing.assert_array_equal(ds.read(), large)

def test_window_rounds_out_pads_and_clips(tmp_path):
    path = GeoArray(np.zeros((1, 100, 100), "float32"), TRANSFORM,
                    rasterio.crs.CRS.from_epsg(32613)).to_cog(tmp_path / "w.tif")
    with rasterio.open(path) as ds:
        # x 500045..500095 -> cols 1.5..3.17 -> 1..4; y rows 2.5..4 -> 2..4.
        w = _window(ds, (500045.0, 3600000.0 - 120.0, 500095.0, 3600000.0 - 75.0), pad_px=0)
        assert (w.col_off, w.row_off, w.width, w.height) == (1, 2, 3, 2)
        w = _window(ds, (500045.0, 3600000.0 - 120.0, 500095.0, 3600000.0 - 75.0), pad_px=64)
        assert (w.col_off, w.row_off, w.width, w.height) == (0, 0, 68, 68)
        assert _window(ds, (0.0, 0.0, 10.0, 10.0), pad_px=64) is None


def test_alpha_outline_in_wgs84():
    rgba = np.zeros((4, 20, 20), "uint8")
    rgba[3, 5:10, 5:15] = 255
    outline = alpha_outline(GeoArray(rgba, TRANSFORM, rasterio.crs.CRS.from_epsg(32613)))
    west, south, east, north = outline.bounds
    assert -106 < west < east < -104 and 32 < south < north < 33


def test_reprojection_reuses_one_transformer_per_pair_and_matches_a_fresh_one():
    from pyproj import Transformer
    from rasterio.crs import CRS
    from shapely.geometry import box
    from shapely.ops import transform

    from cm_assets.carbonmapper import geo

    square = box(686744.0, 6185192.0, 687496.0, 6185952.0)
    utm = CRS.from_epsg(32610)
    first = geo.reproject_geometry(square, utm, "EPSG:4326")
    again = geo.reproject_geometry(square, "EPSG:32610", "EPSG:4326")
    fresh = transform(Transformer.from_crs("EPSG:32610", "EPSG:4326", always_xy=True).transform, square)
    assert first.equals_exact(fresh, 1e-12) and again.equals_exact(fresh, 1e-12)
    assert -121 < first.centroid.x < -119 and 55 < first.centroid.y < 56  # longitude first
    assert geo._transformer(geo._crs_text(utm), "EPSG:4326") is geo._transformer(geo._crs_text(utm), "EPSG:4326")


def test_feature_functions_take_turns():
    """rasterio's feature functions, run in parallel threads, now and then warn that an in-memory
    dataset has no geotransform although their results are right (a false alarm in a run's log), so
    ``pixels_inside`` and ``polygons`` run one at a time: neither runs while the other holds the lock."""
    from concurrent.futures import ThreadPoolExecutor, wait

    from shapely.geometry import box

    from cm_assets.carbonmapper import geo

    grid = GeoArray(np.zeros((1, 40, 30), "float32"), TRANSFORM, rasterio.crs.CRS.from_epsg(32613))
    selected = np.zeros((40, 30), bool)
    selected[10:20, 5:25] = True
    outline = box(500000 + 30 * 5, 3600000 - 30 * 20, 500000 + 30 * 25, 3600000 - 30 * 10)
    with ThreadPoolExecutor(2) as pool:
        with geo._FEATURES_LOCK:
            inside = pool.submit(grid.pixels_inside, outline, grid.crs)
            polygons = pool.submit(grid.polygons, selected)
            assert not wait([inside, polygons], timeout=0.5).done
        assert (inside.result(timeout=60) == selected).all()
        assert [p.bounds for p in polygons.result(timeout=60)] == [outline.bounds]
