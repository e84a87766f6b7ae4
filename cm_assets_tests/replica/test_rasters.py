"""RasterStore: COG validity, products, physics contract, determinism and error classes."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.enums import ColorInterp
from rasterio.windows import Window

from cm_assets.ime import emission_kg_h
from cm_assets.replica import field_solver, versions
from cm_assets.replica.grid import Grid, read_window
from cm_assets.replica.rasters import (
    NotInCollection, RasterStore, UnknownAsset, UnknownCollection, _scene_collections,
)
from cm_assets.replica.world import WorldConfig
from cm_assets.replica.world_generator import build_world

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LATER = datetime(2026, 8, 1, tzinfo=UTC)
PUBLISHED = pd.Timestamp("2026-05-01", tz="UTC")
TAN = "tan20260420t181500c12s4001"
AV3 = "av320260421t190000"
ANG = "ang20170601t180000"


def _scene(name, instrument, epsg, lon, lat, gsd, width, height, version, **extra):
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    x0 = float(np.floor((x - width * gsd / 2) / gsd) * gsd)
    y0 = float(np.ceil((y + height * gsd / 2) / gsd) * gsd)
    xs = [x0, x0 + width * gsd, x0 + width * gsd, x0]
    ys = [y0, y0, y0 - height * gsd, y0 - height * gsd]
    lons, lats = Transformer.from_crs(epsg, 4326, always_xy=True).transform(xs, ys)
    ring = ", ".join(f"{a:.7f} {b:.7f}" for a, b in [*zip(lons, lats), (lons[0], lats[0])])
    row = {"name": name, "instrument": instrument, "epsg": epsg, "x0": x0, "y0": y0, "gsd": gsd,
           "width": width, "height": height, "footprint_wkt": f"POLYGON (({ring}))",
           "l2b_version": version, "l2b_published_at": PUBLISHED, "has_artifact_mask": True,
           "has_unortho": True, "gases": ("CH4",)}
    row.update(extra)
    return row


def _plume(scenes, s, suffix, gas, dx, dy, q, wind, direction, version, sector="1B2", **extra):
    scene = scenes[s]
    cx = scene["x0"] + scene["width"] * scene["gsd"] / 2 + dx
    cy = scene["y0"] - scene["height"] * scene["gsd"] / 2 + dy
    lon, lat = Transformer.from_crs(scene["epsg"], 4326, always_xy=True).transform(cx, cy)
    vis, ime = versions.l3a_collections(gas, version)
    row = {"plume_id": f"{scene['name']}-{suffix}", "scene_idx": s, "gas": gas, "x": cx, "y": cy,
           "lon": lon, "lat": lat, "sector": sector, "q_true": q, "emission_auto": q,
           "wind_speed_avg_auto": wind, "wind_direction_avg_auto": direction,
           "l3a_vis_collection": vis, "l3a_ime_collection": ime,
           "l2b_collection": versions.l2b_collection(gas, scene["l2b_version"], scene["instrument"]),
           "l2b_rgb_collection": versions.l2b_rgb_collection(scene["l2b_version"]),
           "published_at": PUBLISHED, "plume_seed": 1000 + len(suffix) * 7 + ord(suffix[0]) + s,
           "ime_perturbed": False, "missing_assets": ()}
    row.update(extra)
    return row


def fake_world(seed: int = 7) -> SimpleNamespace:
    """Three small scenes: Tanager (CH4 + CO2, two adjacent plumes), AVIRIS-3, legacy AVIRIS-NG."""
    scenes = [
        _scene(TAN, "tan", 32613, -103.9, 32.1, 30.0, 300, 320, "v3d", gases=("CH4", "CO2")),
        _scene(AV3, "av3", 32611, -119.3, 35.4, 4.0, 260, 280, "v3d", has_artifact_mask=False),
        _scene(ANG, "ang", 32611, -119.2, 35.5, 5.0, 200, 200, "v1", has_unortho=False,
               has_artifact_mask=False),
    ]
    plumes = [
        _plume(scenes, 0, "A", "CH4", -900.0, 1500.0, 850.0, 3.2, 225.0, "v3d"),
        _plume(scenes, 0, "B", "CH4", -400.0, 1400.0, 300.0, 3.2, 225.0, "v3d",
               missing_assets=("plume-rgb.png",)),
        _plume(scenes, 0, "C", "CO2", 1200.0, -1500.0, 450_000.0, 5.5, 300.0, "v3d", sector="1A1",
               emission_auto=700_000.0, ime_perturbed=True),
        _plume(scenes, 1, "A", "CH4", 30.0, -50.0, 120.0, 2.1, 90.0, "v3d",
               published_at=pd.Timestamp("2026-07-01", tz="UTC")),
        _plume(scenes, 2, "A", "CH4", 0.0, 0.0, 400.0, 4.0, 10.0, "v1"),
    ]
    scenes_df, plumes_df = pd.DataFrame(scenes), pd.DataFrame(plumes)
    used = set(plumes_df["l3a_vis_collection"]) | set(plumes_df["l3a_ime_collection"].dropna())
    for scene in scenes:
        used |= _scene_collections(pd.Series(scene))
    plume_keys = {k: i for i, k in enumerate(plumes_df["plume_id"])}
    scene_keys = {k: i for i, k in enumerate(scenes_df["name"])}
    return SimpleNamespace(
        config=SimpleNamespace(seed=seed), scenes=scenes_df, plumes=plumes_df,
        collections={c: versions.parse_collection(c) for c in used},
        plume_index=plume_keys.get, scene_index=scene_keys.get)


@pytest.fixture(scope="module")
def world():
    return fake_world()


@pytest.fixture(scope="module")
def store(world, tmp_path_factory):
    return RasterStore(world, tmp_path_factory.mktemp("assets"))


def _plume_row(world, plume_id):
    return world.plumes.iloc[world.plume_index(plume_id)]


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile, ds


def _contract(store, world, plume_id):
    row = _plume_row(world, plume_id)
    scene = world.scenes.iloc[int(row["scene_idx"])]
    path = store.resolve(row["l3a_ime_collection"], plume_id, "ime-cmf-concentrations.tif", LATER)
    with rasterio.open(path) as ds:
        values = ds.read(1)
    q = emission_kg_h(values, scene["gsd"] ** 2, row["wind_speed_avg_auto"], row["gas"], scene["instrument"])
    return q, float(row["q_true"])


def test_l2b_cmf_is_a_valid_cog(store, world):
    scene = world.scenes.iloc[0]
    path = store.resolve("l2b-ch4-mfa-v3d", TAN, "cmf.tif", NOW)
    with rasterio.open(path) as ds:
        assert ds.driver == "GTiff" and ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.profile["tiled"] and ds.block_shapes == [(256, 256)]
        assert ds.overviews(1), "a raster larger than one tile must carry overviews"
        assert ds.compression.name == "deflate"
        assert ds.nodata == -9999 and ds.dtypes == ("float32",)
        assert ds.crs.to_epsg() == scene["epsg"]
        assert (ds.width, ds.height) == (scene["width"], scene["height"])
        assert ds.transform.c == scene["x0"] and ds.transform.f == scene["y0"] and ds.res == (30.0, 30.0)
        data = ds.read(1)
    valid = data != -9999
    assert 0.9 < valid.mean() < 1.0  # ragged swath edges are nodata
    background = data[valid][np.abs(data[valid]) < 500]
    assert 20 < background.std() < 120  # satellite noise: tens of ppm·m


def test_l2b_family_assets(store, world):
    cmf, _, _ = _read(store.resolve("l2b-ch4-mfa-v3d", TAN, "cmf.tif", NOW))
    sigma, profile, _ = _read(store.resolve("l2b-ch4-mfa-v3d", TAN, "uncertainty.tif", NOW))
    assert profile["dtype"] == "float32" and profile["nodata"] == -9999
    assert np.array_equal(sigma == -9999, cmf == -9999) and sigma[sigma != -9999].min() > 0
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        unortho, profile, _ = _read(store.resolve("l2b-ch4-mfa-v3d", TAN, "cmf-unortho.tif", NOW))
    assert profile["crs"] is None and np.array_equal(unortho[0], np.flipud(cmf[0]))
    flags, profile, _ = _read(store.resolve("l2b-ch4-mfa-v3d", TAN, "artifact-mask.tif", NOW))
    assert profile["dtype"] == "uint8" and set(np.unique(flags)) <= {0, 1, 255}
    assert 0.005 < (flags == 1).mean() < 0.12
    rgb, profile, _ = _read(store.resolve("l2b-rgb-v3d", TAN, "rgb.tif", NOW))
    assert rgb.shape == (3, 320, 300) and profile["dtype"] == "uint8" and profile["crs"].to_epsg() == 32613
    assert rgb.std() > 5  # terrain, not a flat fill
    co2, _, _ = _read(store.resolve("l2b-co2-mfa-v3d", TAN, "cmf.tif", NOW))
    assert co2[0][co2[0] != -9999].std() > 10 * cmf[0][cmf[0] != -9999].std()
    uas = store.resolve("l2b-ch4-mfa-v3d", TAN, "uas.txt", NOW).read_text().splitlines()
    assert uas[0] == "wavelength_nm\tabsorption_per_ppmm"
    wavelengths = [float(line.split("\t")[0]) for line in uas[1:]]
    assert wavelengths[0] == 2100.0 and wavelengths[-1] <= 2430.0


def test_windowed_read_of_cmf(store):
    path = store.resolve("l2b-ch4-mfa-v3d", TAN, "cmf.tif", NOW)
    field = store.scene_field(0, "CH4")
    expected = np.where(field.valid, field.values, -9999)[70:134, 40:104]
    with rasterio.open(path) as ds:
        window = ds.read(1, window=Window(40, 70, 64, 64))
        tiles = list(ds.block_windows(1))
    assert np.array_equal(window, expected)
    assert len(tiles) == 4  # 300x320 px in 256 px tiles: a 2x2 grid, so windows read few blocks


def test_l3a_vis_products(store, world):
    plume_id = f"{TAN}-A"
    row = _plume_row(world, plume_id)
    coll = row["l3a_vis_collection"]
    with rasterio.open(store.resolve(coll, plume_id, "plume.tif", NOW)) as ds:
        rgba = ds.read()
        assert ds.count == 4 and (ds.height, ds.width) == (101, 100) and ds.dtypes[0] == "uint8"
        assert ds.colorinterp[3] == ColorInterp.alpha and ds.crs.to_epsg() == 32613
        center = ds.xy(50, 50)
    assert abs(center[0] - row["x"]) < 30 and abs(center[1] - row["y"]) < 30
    assert set(np.unique(rgba[3])) == {0, 255} and 20 < (rgba[3] > 0).sum() < 101 * 100 / 2
    conc, profile, _ = _read(store.resolve(coll, plume_id, "plume-concentrations.tif", NOW))
    assert profile["dtype"] == "float32" and np.isnan(profile["nodata"])
    assert conc.shape[1] < 101 and conc.shape[2] < 100 and np.nanmax(conc) > 300
    rgb, _, _ = _read(store.resolve(coll, plume_id, "rgb.tif", NOW))
    scene_rgb, _, _ = _read(store.resolve("l2b-rgb-v3d", TAN, "rgb.tif", NOW))
    field = store.scene_field(0, "CH4")
    r0, c0 = field.plumes[plume_id].vis_origin
    assert rgb.shape == (3, 101, 100) and np.array_equal(rgb, scene_rgb[:, r0:r0 + 101, c0:c0 + 100])
    feature = json.loads(store.resolve(coll, plume_id, "plume-outline.geojson", NOW).read_text())
    outline = shapely.geometry.shape(feature["geometry"])
    assert feature["type"] == "Feature" and outline.geom_type in ("Polygon", "MultiPolygon")
    assert outline.is_valid and -180 <= outline.bounds[0] <= outline.bounds[2] <= 180
    assert outline.distance(shapely.Point(row["lon"], row["lat"])) < 0.0005
    for key in ("plume.png", "rgb.png", "plume-rgb.png"):
        data = store.resolve(coll, plume_id, key, NOW).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert 1 <= width <= 115 and 1 <= height <= 115


def test_l3a_ime_products_agree_with_l2b(store, world):
    plume_id = f"{TAN}-A"
    coll = _plume_row(world, plume_id)["l3a_ime_collection"]
    with rasterio.open(store.resolve(coll, plume_id, "ime-cmf-concentrations.tif", NOW)) as ds:
        ime = ds.read(1)
        transform = ds.transform
        assert np.isnan(ds.nodata) and ds.height == ds.width and 8 <= ds.width <= 60
    mask, profile, _ = _read(store.resolve(coll, plume_id, "ime-cmf-mask.tif", NOW))
    assert profile["transform"] == transform and profile["dtype"] == "uint8"
    assert np.array_equal(mask[0] == 1, np.isfinite(ime))
    with rasterio.open(store.resolve("l2b-ch4-mfa-v3d", TAN, "cmf.tif", NOW)) as ds:
        row, col = ds.index(transform.c + 1, transform.f - 1)
        cmf = ds.read(1, window=Window(col, row, ime.shape[1], ime.shape[0]))
    assert np.array_equal(cmf[np.isfinite(ime)], ime[np.isfinite(ime)])
    ime_outline = shapely.geometry.shape(json.loads(
        store.resolve(coll, plume_id, "ime-cmf-outline.geojson", NOW).read_text())["geometry"])
    broad = shapely.geometry.shape(json.loads(store.resolve(
        _plume_row(world, plume_id)["l3a_vis_collection"], plume_id, "plume-outline.geojson", NOW
    ).read_text())["geometry"])
    assert ime_outline.is_valid and ime_outline.difference(broad).area < 1e-3 * ime_outline.area
    for key in ("ime-cmf-concentrations.png", "ime-cmf-mask.png"):
        assert store.resolve(coll, plume_id, key, NOW).read_bytes()[:4] == b"\x89PNG"


def test_physics_contract_fake_world(store, world):
    for plume_id in (f"{TAN}-A", f"{TAN}-B", f"{TAN}-C", f"{AV3}-A"):
        q, q_true = _contract(store, world, plume_id)
        assert q == pytest.approx(q_true, rel=0.005), plume_id


def test_a_bug_in_the_pipelines_physics_disagrees_with_the_replica(store, world, monkeypatch):
    """The replica solves its plumes with its own copy of the physics, so a wrong constant in the
    pipeline's ``cm_assets.ime`` moves only the recomputation (what ``ime_agreement`` flags)."""
    monkeypatch.setattr("cm_assets.ime.WIND_A", 0.42)
    q, q_true = _contract(store, world, f"{TAN}-A")
    assert abs(q / q_true - 1) > 0.05


def test_physics_contract_generated_world(tmp_path):
    world = build_world(WorldConfig.from_scale("tiny"))
    store = RasterStore(world, tmp_path)
    plumes, scenes = world.plumes, world.scenes
    instrument = scenes["instrument"].to_numpy()[plumes["scene_idx"].to_numpy()]
    has_ime = plumes["l3a_ime_collection"].notna().to_numpy()
    picks = []
    for code, gas in (("tan", "CH4"), ("emi", "CH4"), ("GAO", "CH4"), ("av3", "CH4"), ("tan", "CO2")):
        picks.append(np.flatnonzero((instrument == code) & (plumes["gas"] == gas).to_numpy() & has_ime)[0])
    picks.append(np.flatnonzero(plumes["ime_perturbed"].to_numpy() & has_ime)[0])
    now = datetime(2100, 1, 1, tzinfo=UTC)
    for i in picks:
        row = plumes.iloc[i]
        scene = scenes.iloc[int(row["scene_idx"])]
        with rasterio.open(store.resolve(row["l3a_ime_collection"], row["plume_id"],
                                         "ime-cmf-concentrations.tif", now)) as ds:
            assert ds.crs.to_epsg() == scene["epsg"]
            q = emission_kg_h(ds.read(1), scene["gsd"] ** 2, row["wind_speed_avg_auto"], row["gas"],
                              scene["instrument"])
        assert q == pytest.approx(row["q_true"], rel=0.005), row["plume_id"]
    # every plume's L2B parents are collections holding its scene
    for row in plumes.itertuples():
        held = _scene_collections(scenes.iloc[row.scene_idx])
        assert row.l2b_collection in held and row.l2b_rgb_collection in held


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_identical_bytes(world, tmp_path):
    first, second = RasterStore(world, tmp_path / "a"), RasterStore(fake_world(), tmp_path / "b")
    other = RasterStore(fake_world(seed=8), tmp_path / "c")
    coll_vis, coll_ime = _plume_row(world, f"{TAN}-A")[["l3a_vis_collection", "l3a_ime_collection"]]
    requests = [("l2b-ch4-mfa-v3d", TAN, "cmf.tif"), ("l2b-rgb-v3d", TAN, "rgb.tif"),
                (coll_vis, f"{TAN}-A", "plume.tif"), (coll_vis, f"{TAN}-A", "plume-outline.geojson"),
                (coll_vis, f"{TAN}-A", "plume.png"), (coll_ime, f"{TAN}-A", "ime-cmf-concentrations.tif")]
    for request in requests:
        assert _digest(first.resolve(*request, NOW)) == _digest(second.resolve(*request, NOW)), request
    assert _digest(first.resolve(*requests[0], NOW)) != _digest(other.resolve(*requests[0], NOW))


def test_error_classes(store, world):
    ime_a = _plume_row(world, f"{TAN}-A")["l3a_ime_collection"]
    with pytest.raises(UnknownCollection) as err:
        store.resolve("l2b-ch4-mfa-v9z", TAN, "cmf.tif", NOW)
    assert err.value.status == 404
    with pytest.raises(NotInCollection) as err:
        store.resolve("l2b-ch4-mf-v1", TAN, "cmf.tif", NOW)  # known collection, other scene
    assert err.value.status == 403
    with pytest.raises(NotInCollection):
        store.resolve(ime_a, f"{TAN}-Z", "ime-cmf-concentrations.tif", NOW)
    with pytest.raises(NotInCollection):  # published 2026-07-01, after NOW
        store.resolve(_plume_row(world, f"{AV3}-A")["l3a_vis_collection"], f"{AV3}-A", "plume.tif", NOW)
    with pytest.raises(NotInCollection):  # CO2 plume is not in the CH4 IME collection
        store.resolve(ime_a, f"{TAN}-C", "ime-cmf-concentrations.tif", NOW)
    with pytest.raises(UnknownAsset) as err:
        store.resolve(ime_a, f"{TAN}-A", "garbage.tif", NOW)
    assert err.value.status == 404
    with pytest.raises(UnknownAsset):  # missing_assets
        store.resolve(_plume_row(world, f"{TAN}-B")["l3a_vis_collection"], f"{TAN}-B", "plume-rgb.png", NOW)
    with pytest.raises(UnknownAsset):  # has_artifact_mask False
        store.resolve("l2b-ch4-mfa-v3d", AV3, "artifact-mask.tif", NOW)
    with pytest.raises(UnknownAsset):  # has_unortho False
        store.resolve("l2b-ch4-mf-v1", ANG, "cmf-unortho.tif", NOW)
    with pytest.raises(UnknownAsset):  # an L2B key asked of an L3A collection
        store.resolve(ime_a, f"{TAN}-A", "cmf.tif", NOW)


def test_legacy_plume_has_vis_but_no_ime(store, world):
    plume_id = f"{ANG}-A"
    row = _plume_row(world, plume_id)
    assert row["l3a_vis_collection"] == "l3a-ch4-mf-v1" and pd.isna(row["l3a_ime_collection"])
    _, profile, _ = _read(store.resolve("l3a-ch4-mf-v1", plume_id, "plume-concentrations.tif", NOW))
    assert profile["nodata"] == -9999  # NaN nodata only from v3a on
    with pytest.raises(NotInCollection):
        store.resolve("l3a-ime-ch4-mfa-v3d", plume_id, "ime-cmf-concentrations.tif", NOW)


def test_media_types():
    assert RasterStore.media_type("cmf.tif") == "image/tiff"
    assert RasterStore.media_type("plume-outline.geojson") == "application/geo+json"
    assert RasterStore.media_type("plume.png") == "image/png"
    assert RasterStore.media_type("uas.txt").startswith("text/plain")


def test_concurrent_first_requests_generate_once(world, tmp_path):
    store = RasterStore(world, tmp_path)
    coll = _plume_row(world, f"{TAN}-B")["l3a_vis_collection"]
    results, errors = [], []

    def fetch():
        try:
            results.append(store.resolve(coll, f"{TAN}-B", "plume.tif", NOW))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1 and results[0].exists()
    assert [p.name for p in results[0].parent.iterdir()] == ["plume.tif"]


def test_plume_whose_template_peak_is_nodata_still_meets_the_contract():
    """An origin by the swath edge whose downwind peak falls on nodata seeds on a valid pixel."""
    grid = Grid(32611, 300_000.0, 4_000_000.0, 4.0, 200, 120)
    coverage = np.ones(grid.shape, dtype=bool)
    coverage[:, 189:] = False  # ragged right edge, 2 px east of the origin
    spec = field_solver.PlumeSpec("GAO20240312t175354p1722-B", grid.x0 + 186.704 * grid.gsd,
                                  grid.y0 - 60.054 * grid.gsd, 92.57, 3.337, 289.64, 1223798684462988706)
    template = field_solver.plume_template(grid, spec, "CH4")
    peak = np.unravel_index(int(np.argmax(template.data)), template.data.shape)
    assert not coverage[template.row + peak[0], template.col + peak[1]]  # the case under test
    field = field_solver.synthesize_field(grid, "CH4", "GAO", coverage, (spec,), 5)
    mask = field.plumes[spec.plume_id].ime_mask
    values = read_window(field.values, mask.row, mask.col, *mask.data.shape, np.nan)
    assert coverage[field.plumes[spec.plume_id].seed_pixel]
    q = emission_kg_h(np.where(mask.data, values, np.nan), grid.gsd ** 2, spec.wind_speed, "CH4", "GAO")
    assert q == pytest.approx(spec.q_kg_h, rel=0.005)
