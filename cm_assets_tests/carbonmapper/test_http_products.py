"""Per-plume products and L2B crops for a STAC-resident plume and a 2026-era one."""

from __future__ import annotations

import threading
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from shapely.geometry import box

from cm_assets.carbonmapper import (CarbonMapperClient, CollectionId, NoOverlap, NotGeoreferenced,
                                   PlumeRecord,
                                   ProductNotAvailable, SceneNotPublished, SceneRaster)
from cm_assets.carbonmapper.client import l2b_candidates
from cm_assets.carbonmapper.geo import reproject_geometry
from cm_assets.carbonmapper.scenes import derive_scene_urls

ERAS = ["stac_plume", "recent_plume"]


@pytest.fixture(params=ERAS)
def era(request):
    return request.getfixturevalue(request.param)


def test_scene_resolution_path(client: CarbonMapperClient, stac_plume, recent_plume):
    plume, scene = stac_plume
    assert scene.item.from_stac and CollectionId.parse(scene.collection).is_stac_resident
    assert scene.item.bbox is not None and scene.scene_name == plume.scene_name
    plume, scene = recent_plume
    assert plume.version in ("v3c", "v3d", "v3e")
    assert not scene.item.from_stac and scene.collection.startswith("l2b-ch4-")
    assert client.get_stac_item(scene.collection, scene.scene_name) is None  # absent from STAC


def test_seven_products(client: CarbonMapperClient, era, tmp_path):
    plume, _ = era
    products = client.plume_products(plume.plume_id)
    assert len(products.urls) == 7
    assert all(u.startswith(client.api_url + "/catalog/asset/") for u in products.urls.values())
    mask = products.mask
    assert mask.values.shape[0] == 4 and mask.crs.is_projected
    assert (mask.values[3] > 0).any()
    for name in ("concentrations", "ime_concentrations", "ime_mask"):
        assert getattr(products, name).values.shape[0] == 1
    assert products.rgb.values.shape[0] == 3
    assert products.concentrations is products.concentrations  # cached
    outline, ime_outline = products.outline, products.ime_outline
    west, south, east, north = plume.plume_bounds
    assert box(west, south, east, north).buffer(0.01).contains(outline)
    assert ime_outline is not None and outline.buffer(0.002).contains(ime_outline)
    saved = products.save("mask", tmp_path / "mask.tif")
    with rasterio.open(saved) as ds:
        np.testing.assert_array_equal(ds.read(), mask.values)
    assert [p.name for p in tmp_path.iterdir()] == ["mask.tif"]


def test_l2b_crops_at_native_resolution(client: CarbonMapperClient, era):
    plume, scene = era
    outline = client.plume_products(plume).outline
    crop = scene.crop("cmf", outline, pad_px=16)
    with client.assets.open_raster("cmf", scene.urls["cmf"]) as ds:
        native = (abs(ds.transform.a), abs(ds.transform.e))
        full = (ds.height, ds.width)
    assert crop.resolution == native and crop.values.shape[1:] < full
    local = reproject_geometry(outline, "EPSG:4326", crop.crs)
    assert box(*crop.bounds).contains(local)
    west, south, east, north = transform_bounds("EPSG:4326", crop.crs, *outline.bounds, densify_pts=21)
    expected_cols = (east - west) / native[0] + 2 * 16
    expected_rows = (north - south) / native[1] + 2 * 16
    assert expected_cols <= crop.values.shape[2] <= expected_cols + 2  # rounded out, not more
    assert expected_rows <= crop.values.shape[1] <= expected_rows + 2
    rgb = scene.crop("rgb", outline, pad_px=16)
    assert rgb.values.shape[0] == 3 and rgb.bounds == crop.bounds
    crops = scene.read_polygon(outline, bands=("cmf", "uncertainty"))
    assert set(crops) == {"cmf", "uncertainty"}
    assert crops["cmf"].values.shape == crops["uncertainty"].values.shape
    assert crops["cmf"].values.shape[1] < crop.values.shape[1]
    far = box(10.0, 10.0, 10.1, 10.1)
    assert scene.read_polygon(far, bands=("cmf",)) == {"cmf": None}
    with pytest.raises(NoOverlap):
        scene.crop("cmf", far)
    assert scene.uas.strip()


def test_every_scene_band_is_readable(recent_plume, client: CarbonMapperClient):
    plume, scene = recent_plume
    outline = client.plume_products(plume).outline
    uncertainty = scene.crop("uncertainty", outline, pad_px=2)
    assert uncertainty.values.size
    for band in ("cmf-unortho", "uncertainty-unortho"):  # raw sensor frames: pixel reads only
        with pytest.raises(NotGeoreferenced):
            scene.crop(band, outline)
        assert scene.read_pixels(band, Window(0, 0, 8, 8)).shape[1:] == (8, 8)
    try:
        mask = scene.crop("artifact-mask", outline, pad_px=2)
    except ProductNotAvailable as exc:  # optional asset (spec §4.13)
        assert exc.key == "artifact-mask"
    else:  # same grid as the retrieval, flags only (0/1, 255 = nodata)
        assert mask.values.shape[1:] == uncertainty.values.shape[1:]
        assert set(np.unique(mask.values)) <= {0, 1, 255}


def test_products_from_stac_items(client: CarbonMapperClient, stac_plume):
    plume, _ = stac_plume
    products = client.plume_products(plume)
    vis_coll = products.vis_collection
    ime_coll = vis_coll.replace("l3a-vis-", "l3a-ime-")
    vis_item = client.get_stac_item(vis_coll, plume.plume_id)
    ime_item = client.get_stac_item(ime_coll, plume.plume_id)
    assert vis_item is not None
    from_stac = client.plume_products_from_stac(vis_item, ime_item)
    assert from_stac.plume_id == plume.plume_id and from_stac.urls == products.urls
    assert client.plume_products_from_stac(vis_item).urls == products.urls  # ime derived
    np.testing.assert_array_equal(from_stac.mask.values, products.mask.values)


def _broken(plume: PlumeRecord, **changes: str | None) -> PlumeRecord:
    return plume.model_copy(update=changes)


def test_missing_products_and_fallbacks(client: CarbonMapperClient, stac_plume):
    plume, _ = stac_plume
    products = client.plume_products(plume)
    products.urls["concentrations"] = products.urls["concentrations"].replace("-v3a", "-v3q")
    with pytest.raises(ProductNotAvailable) as info:
        products.concentrations
    assert info.value.key == "concentrations" and info.value.status == 404
    products.urls["outline"] = products.urls["outline"].replace("plume-outline", "nothing-here")
    products.urls["ime_outline"] = products.urls["ime_outline"].replace("ime-cmf-outline", "nothing")
    with pytest.warns(UserWarning, match="vectorising the mask alpha"):
        outline = products.outline
    reference = client.plume_products(plume).outline
    assert outline.intersection(reference).area > 0.5 * reference.area
    assert products.ime_outline is None


def _ghost(plume: PlumeRecord) -> PlumeRecord:
    """A plume of a scene that is in no collection."""
    return plume.model_copy(update={
        "plume_id": "tan20260101t000000c00s4001-A",
        "plume_tif": plume.plume_tif.replace(plume.scene_name, "tan20260101t000000c00s4001")
                     .replace(plume.plume_tif.split("/")[-5], "2026"),
    })


def test_scene_not_published(client: CarbonMapperClient, recent_plume):
    plume, _ = recent_plume
    with pytest.raises(SceneNotPublished) as info:
        client.scene_for_plume(_ghost(plume))
    assert info.value.scene_name == "tan20260101t000000c00s4001"
    assert info.value.tried[0] == f"l2b-ch4-mfa-{plume.version}"


def test_candidates_looked_up_in_waves(client: CarbonMapperClient, era, monkeypatch):
    """With a pool, the candidate collections are probed in waves of 1, 2, 4, … at once (a few round
    trips instead of one per candidate); the scene found and the collections tried are the
    sequential ones."""
    plume, scene = era
    with ThreadPoolExecutor(8) as pool:
        found = client.scene_for_plume(plume, pool)
    assert (found.collection, found.urls) == (scene.collection, scene.urls)
    ghost = _ghost(plume)
    candidates = l2b_candidates(ghost, client.asset_urls)
    assert len(candidates) > 3
    order = [derive_scene_urls(ghost.scene_name, c, client.asset_urls)["cmf"] for c in candidates]
    waves = []  # a barrier per wave: broken unless the wave's probes are all in flight at once
    while sum(w.parties for w in waves) < len(order):
        waves.append(threading.Barrier(min(2 ** len(waves), len(order) - sum(w.parties for w in waves)),
                                       timeout=20))
    first_of_wave = list(accumulate([0] + [w.parties for w in waves]))
    probe = client.assets.probe
    probed: list[str] = []
    answered: set[str] = set()
    early: list[str] = []  # probed before every earlier wave had its answer

    def in_waves(url: str, length: int = 2) -> tuple[bytes, int] | None:
        probed.append(url)
        wave = bisect_right(first_of_wave, order.index(url)) - 1
        if not answered >= set(order[:first_of_wave[wave]]):
            early.append(url)
        waves[wave].wait()
        there = probe(url, length)
        answered.add(url)
        return there

    monkeypatch.setattr(client.assets, "probe", in_waves)
    with ThreadPoolExecutor(len(candidates)) as pool, pytest.raises(SceneNotPublished) as info:
        client.scene_for_plume(ghost, pool)
    assert info.value.tried == tuple(str(c) for c in candidates) and sorted(probed) == sorted(order)
    assert not early
