"""Crops by byte ranges through the transport, against GDAL's own reads of the same files."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from rasterio.warp import transform_bounds

from cm_assets.carbonmapper import CarbonMapperClient, PlumeRecord, SceneRaster, gdal_requests
from cm_assets.carbonmapper.errors import ProductNotAvailable
from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.scenes import _window
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.client import admin

BANDS = ("cmf", "uncertainty", "rgb", "artifact-mask")


def _through_gdal(client: CarbonMapperClient, scene: SceneRaster, band: str, outline) -> GeoArray:
    with client.assets.open_raster(band, scene.urls[band]) as dataset:
        bounds = transform_bounds("EPSG:4326", dataset.crs, *outline.bounds, densify_pts=21)
        return GeoArray.read(dataset, _window(dataset, bounds, pad_px=16))


@pytest.mark.parametrize("era", ["stac_plume", "recent_plume"])
def test_a_crop_by_ranges_equals_gdals_read_of_the_window(client: CarbonMapperClient, era, request):
    plume, scene = request.getfixturevalue(era)
    outline = client.plume_products(plume).outline
    for band in BANDS:
        crop = scene.crop(band, outline, pad_px=16)  # resolves the band's URL (rgb: its sibling collection)
        expected = _through_gdal(client, scene, band, outline)
        np.testing.assert_array_equal(crop.values, expected.values)
        assert (crop.transform, crop.crs, crop.nodata) == (expected.transform, expected.crs, expected.nodata)


def test_a_crop_costs_two_range_requests_a_band_and_no_size_probe(
        client: CarbonMapperClient, replica: ReplicaProcess, stac_plume: tuple[PlumeRecord, SceneRaster]):
    """The header's range answer gives the file's size (no HEAD); the window's tiles come in one more
    (none where the file's first bytes already hold them: a small artifact mask). None of it goes
    through GDAL's HTTP (so no GDAL cache carries over from one run to the next in a process)."""
    plume, scene = stac_plume
    scene = SceneRaster(scene.item, scene.urls, client.assets)  # no header read before
    outline = client.plume_products(plume).outline
    for band in ("cmf", "uncertainty", "artifact-mask"):
        assert _tif_requests(replica, lambda: scene.crop(band, outline, pad_px=16)) == \
            (1 if band == "artifact-mask" else 2), band


def test_a_scenes_band_header_is_read_once_for_all_its_crops(
        client: CarbonMapperClient, replica: ReplicaProcess, stac_plume: tuple[PlumeRecord, SceneRaster]):
    """A second plume of the scene (another outline) costs the tiles only; a band the scene lacks
    is asked for once."""
    plume, scene = stac_plume
    scene = SceneRaster(scene.item, scene.urls, client.assets)
    outline = client.plume_products(plume).outline
    shifted = outline.buffer(0.002)
    assert _tif_requests(replica, lambda: scene.crop("cmf", outline, pad_px=16)) == 2
    again = scene.crop("cmf", outline, pad_px=16)
    assert _tif_requests(replica, lambda: scene.crop("cmf", shifted, pad_px=16)) == 1
    np.testing.assert_array_equal(again.values, SceneRaster(scene.item, scene.urls, client.assets)
                                  .crop("cmf", outline, pad_px=16).values)
    missing = SceneRaster(scene.item, {**scene.urls, "uncertainty": scene.urls["cmf"][:-4] + "-gone.tif"},
                          client.assets)
    admin(replica, "POST", "/stats/reset")
    for _ in range(2):
        with pytest.raises(ProductNotAvailable):
            missing.crop("uncertainty", outline)
    assert admin(replica, "GET", "/stats")["requests"] == 1  # the second crop asked for nothing


def test_a_failed_header_read_is_tried_again(client: CarbonMapperClient, stac_plume: tuple[PlumeRecord, SceneRaster],
                                             monkeypatch):
    plume, scene = stac_plume
    outline = client.plume_products(plume).outline
    scene = SceneRaster(scene.item, scene.urls, client.assets)
    open_cog, failures = client.assets.open_cog, [ConnectionError("reset by peer")]
    monkeypatch.setattr(client.assets, "open_cog", lambda *args: open_cog(*args) if not failures
                        else (_ for _ in ()).throw(failures.pop()))
    with pytest.raises(ConnectionError):
        scene.crop("cmf", outline, pad_px=16)
    assert scene.crop("cmf", outline, pad_px=16).values.size


def _tif_requests(replica: ReplicaProcess, read) -> int:
    """Requests for ``.tif`` files that ``read()`` sent, all ``GET`` to one file, none through GDAL."""
    admin(replica, "POST", "/stats/reset")
    through_gdal = gdal_requests.made()
    read()
    assert gdal_requests.made() == through_gdal
    sent = {key: n for key, n in admin(replica, "GET", "/stats/paths")["paths"].items() if key.endswith(".tif")}
    assert len(sent) == 1 and next(iter(sent)).startswith("GET "), sent
    return sent[next(iter(sent))]


def test_a_crops_bands_are_read_together(client: CarbonMapperClient, stac_plume: tuple[PlumeRecord, SceneRaster],
                                         monkeypatch):
    """``crops`` reads every band at once (each band is two round trips; in turn a crop would cost
    eight) and gives what ``crop`` gives; a band the scene lacks is None."""
    plume, scene = stac_plume
    outline = client.plume_products(plume).outline
    expected = {band: scene.crop(band, outline, pad_px=16) for band in BANDS}
    barrier = threading.Barrier(len(BANDS), timeout=20)
    crop = scene.crop

    def together(band: str, *args, **kwargs) -> GeoArray:
        barrier.wait()  # broken unless every band is being read at the same time
        return crop(band, *args, **kwargs)

    monkeypatch.setattr(scene, "crop", together)
    with ThreadPoolExecutor(len(BANDS)) as pool:
        crops = scene.crops(BANDS, outline, pool, pad_px=16)
        without_mask = SceneRaster(scene.item, {k: v for k, v in scene.urls.items() if k != "artifact-mask"},
                                   client.assets)
        assert without_mask.crops(["cmf", "artifact-mask"], outline, pool, pad_px=16)["artifact-mask"] is None
    for band in BANDS:
        np.testing.assert_array_equal(crops[band].values, expected[band].values)


def test_a_scene_found_by_a_probe_reads_its_cmf_header_from_that_probe(
        client: CarbonMapperClient, replica: ReplicaProcess, recent_plume: tuple[PlumeRecord, SceneRaster]):
    """The look-up's range probe of a derived scene's cmf is its header read too: the cmf crop then
    costs its tiles only (the other bands, not probed, still cost two)."""
    plume, _ = recent_plume
    outline = client.plume_products(plume).outline
    scene = client.scene_for_plume(plume)
    assert not scene.item.from_stac
    assert _tif_requests(replica, lambda: scene.crop("cmf", outline, pad_px=16)) == 1
    assert _tif_requests(replica, lambda: scene.crop("uncertainty", outline, pad_px=16)) == 2
