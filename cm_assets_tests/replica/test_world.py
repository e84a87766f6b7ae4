"""The synthetic world: determinism, id grammar, versions, emissions, sources, lookups."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from cm_assets.replica import catalog_ids
from cm_assets.replica.clustering import dbscan_min1, local_metres
from cm_assets.replica.query import PlumeQuery, select_plumes
from cm_assets.replica.reprocessing import reprocess
from cm_assets.replica.world import WorldConfig
from cm_assets.replica.world_generator import EPS_BY_SECTOR, build_world

END = date(2026, 11, 24)
SOURCE_NAME = re.compile(r"^(CH4|CO2)_(1B2|6A|6B|4B|1B1a|1A1|other|NA)_(100|250|500|1000)m_-?\d+\.\d{5}_-?\d+\.\d{5}$")


@pytest.fixture(scope="module")
def world():
    return build_world(WorldConfig(seed=7, n_plumes=1500, end=END))


def _observed(world) -> pd.Series:
    return world.scenes["timestamp"].iloc[world.plumes["scene_idx"].to_numpy()].reset_index(drop=True)


def test_same_config_same_tables_and_other_seed_differs(world):
    again = build_world(WorldConfig(seed=7, n_plumes=1500, end=END))
    pd.testing.assert_frame_equal(world.scenes, again.scenes)
    pd.testing.assert_frame_equal(world.plumes, again.plumes)
    pd.testing.assert_frame_equal(world.sources, again.sources)
    other = build_world(WorldConfig(seed=8, n_plumes=1500, end=END))
    assert set(other.plumes["plume_id"]) != set(world.plumes["plume_id"])


def test_exact_plume_count_and_scales(world):
    assert len(world.plumes) == 1500
    assert WorldConfig.from_scale("full", end=END).n_plumes == 100_000
    assert WorldConfig.from_scale("tiny", end=END).n_plumes == 1500
    assert WorldConfig.from_scale("250", end=END).n_plumes == 250
    with pytest.raises(ValueError, match="unknown scale"):
        WorldConfig.from_scale("huge")


def test_scene_names_follow_instrument_grammar(world):
    scenes = world.scenes
    assert scenes["name"].is_unique and scenes["id"].is_unique
    for name, inst, ts in zip(scenes["name"], scenes["instrument"], scenes["timestamp"]):
        assert catalog_ids.SCENE_NAME_PATTERNS[inst].match(name), name
        assert name[3:18] == ts.strftime("%Y%m%dt%H%M%S")
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(uuid.match(u) for u in world.plumes["id"])
    assert world.plumes["id"].is_unique and world.plumes["plume_id"].is_unique


def test_plume_ids_are_lettered_in_order_within_their_scene(world):
    plumes = world.plumes
    for scene_idx, group in plumes.groupby("scene_idx"):
        name = world.scenes.at[scene_idx, "name"]
        expected = [f"{name}-{catalog_ids.plume_suffix(k)}" for k in range(len(group))]
        assert list(group["plume_id"]) == expected
    assert catalog_ids.plume_suffix(25) == "Z" and catalog_ids.plume_suffix(26) == "AA"


def test_instruments_and_eras(world):
    inst = world.scenes["instrument"]
    ts = world.scenes["timestamp"]
    assert set(inst) == {"tan", "emi", "ang", "av3", "GAO"}
    assert ts[inst == "tan"].min() >= pd.Timestamp("2024-09-01", tz="UTC")
    assert ts[inst == "emi"].min() >= pd.Timestamp("2022-08-10", tz="UTC")
    assert ts[inst == "ang"].max() < pd.Timestamp("2024-01-01", tz="UTC")
    assert ts.max() < pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)
    assert (world.scenes["width"] <= 1200).all() and (world.scenes["height"] <= 1200).all()
    assert dict(world.scenes.groupby("instrument")["gsd"].first()) == {"GAO": 4.0, "ang": 5.0, "av3": 4.0, "emi": 60.0, "tan": 30.0}
    covered = world.scenes.index.difference(world.plumes["scene_idx"].unique())
    assert len(covered) > 0.1 * len(world.scenes), "non-detection overpasses are needed for persistence"


def test_plume_origin_lies_inside_its_scene_grid(world):
    s = world.scenes.iloc[world.plumes["scene_idx"].to_numpy()].reset_index(drop=True)
    p = world.plumes
    assert (p["x"] > s["x0"]).all() and (p["x"] < s["x0"] + s["width"] * s["gsd"]).all()
    assert (p["y"] < s["y0"]).all() and (p["y"] > s["y0"] - s["height"] * s["gsd"]).all()
    assert ((p["lon"] >= s["west"]) & (p["lon"] <= s["east"]) & (p["lat"] >= s["south"]) & (p["lat"] <= s["north"])).all()
    zone = ((p["lon"] + 180) // 6 + 1).astype(int)
    assert ((s["epsg"] % 100 - zone).abs() <= 1).all()


def test_versions_follow_observation_eras(world):
    p = world.plumes
    obs = _observed(world)
    version = p["emission_version"]
    assert set(version[obs < pd.Timestamp("2023-03-01", tz="UTC")]) <= {"jpl", "v1"}
    dec = (obs >= pd.Timestamp("2025-12-01", tz="UTC")) & (obs < pd.Timestamp("2026-01-01", tz="UTC"))
    assert set(version[dec]) == {"v3b"}
    assert set(p.loc[dec & (p["gas"] == "CH4"), "l2b_collection"]) == {"l2b-ch4-mfa-v3a"}
    q1 = (obs >= pd.Timestamp("2026-01-01", tz="UTC")) & (obs < pd.Timestamp("2026-03-31", tz="UTC"))
    assert set(version[q1]) <= {"v3c", "v3d"}
    assert (p.loc[q1 & (version == "v3d") & (p["gas"] == "CH4"), "l2b_collection"] == "l2b-ch4-mfa-v3c").all()
    assert set(version[obs >= pd.Timestamp("2026-06-01", tz="UTC")]) == {"v3e"}
    assert "l2b-ch4-mfa-v3b" not in world.collections
    legacy = version.isin(["jpl", "v1"])
    assert (p.loc[legacy, "l3a_vis_collection"] == "l3a-ch4-mf-v1").all()
    assert p.loc[legacy, "l3a_ime_collection"].isna().all()
    v3c = p[(version == "v3c") & (p["gas"] == "CH4")].iloc[0]
    assert (v3c["l3a_vis_collection"], v3c["l3a_ime_collection"]) == ("l3a-vis-ch4-mfa-v3c", "l3a-ime-ch4-mfa-v3c")
    assert v3c["processing_software"].startswith("cmpro: 3.56.")
    co2 = p[p["gas"] == "CO2"]
    assert 0.03 <= len(co2) / len(p) <= 0.1
    assert co2["l3a_ime_collection"].str.contains("-co2-mfal-").all()
    assert co2["l3a_vis_collection"].str.contains("-co2-mfa-").all()
    assert set(p["collection"]) == {"l2c-ch4-v0", "l2c-co2-v0"}


def test_collections_cover_everything_and_only_old_families_are_in_stac(world):
    used = set()
    for column in ("l3a_vis_collection", "l3a_ime_collection", "l2b_collection", "l2b_rgb_collection", "collection"):
        used |= set(world.plumes[column].dropna())
    assert used <= set(world.collections)
    for cid, info in world.collections.items():
        assert info["stac_resident"] == (info["version"] in {"jpl", "v0", "v1", "v2", "v3", "v3a"} and info["family"] != "l2c"), cid
        start, end = info["temporal_extent"]
        assert start <= end
    assert world.collections["l3a-ime-co2-mfal-v3c"]["family"] == "ime"


def test_emissions_nulls_and_perturbations(world):
    p = world.plumes
    null = p["emission_auto"].isna()
    assert 0.2 <= null.mean() <= 0.3
    assert p["q_true"].notna().all() and (p["q_true"] > 0).all()
    same = ~null & ~p["ime_perturbed"]
    assert np.allclose(p.loc[same, "emission_auto"], p.loc[same, "q_true"])
    ratio = p.loc[p["ime_perturbed"], "emission_auto"] / p.loc[p["ime_perturbed"], "q_true"]
    assert len(ratio) > 0 and ratio.between(1.3, 2.0).all()
    ch4 = p.loc[(p["gas"] == "CH4") & ~null, "emission_auto"]
    assert 250 < ch4.median() < 1500 and ch4.max() < 45_000
    assert p["hide_emission"].any() and (p["missing_assets"].map(len) > 0).any()
    assert (p["plume_quality"] == "good").mean() > 0.75
    assert (~world.scenes.loc[world.scenes["l2b_version"] == "v3d", "has_artifact_mask"]).any()


def test_publication_timeline(world):
    p = world.plumes
    obs = _observed(world)
    lag = p["published_at"] - obs
    assert (lag > pd.Timedelta(0)).all() and (lag <= pd.Timedelta(days=30)).all()
    assert (p["modified"] >= p["published_at"]).all()
    assert (p["clustered_at"] > p["published_at"]).all()
    s = world.scenes
    with_l2b = s["l2b_published_at"].notna()
    assert (s.loc[with_l2b, "l2b_published_at"] > s.loc[with_l2b, "timestamp"]).all()
    assert p["published_at"].max() > pd.Timestamp(END, tz="UTC"), "recent plumes arrive after end"
    assert (obs.dt.year >= 2024).mean() > 0.4


def test_sources_are_named_dbscan_clusters(world):
    sources = world.sources
    assert sources["source_name"].map(lambda n: bool(SOURCE_NAME.match(n))).all()
    assert sources["source_name"].is_unique
    for row in sources.itertuples():
        assert row.eps == EPS_BY_SECTOR[row.sector]
        assert row.source_name == f"{row.gas}_{row.sector}_{row.eps}m_{row.lon:.5f}_{row.lat:.5f}"
    p = world.plumes
    assert (p.loc[p["plume_quality"] == "bad", "source_idx"] == -1).all()
    member = p[p["source_idx"] >= 0]
    src = sources.iloc[member["source_idx"].to_numpy()]
    assert (member["gas"].to_numpy() == src["gas"].to_numpy()).all()
    assert (member["sector"].to_numpy() == src["sector"].to_numpy()).all()
    assert member.groupby("source_idx").size().max() > 5, "persistent emitters make multi-plume sources"


def test_dbscan_matches_brute_force_components():
    rng = np.random.default_rng(3)
    lon = -104 + rng.uniform(0, 0.03, 500)
    lat = 32 + rng.uniform(0, 0.03, 500)
    x, y = local_metres(lon, lat)
    near = (x[:, None] - x[None]) ** 2 + (y[:, None] - y[None]) ** 2 <= 150.0**2
    label = np.arange(500)
    while True:
        new = np.array([label[near[i]].min() for i in range(500)])
        if (new == label).all():
            break
        label = new
    got = dbscan_min1(lon, lat, 150.0)
    assert len(set(zip(label, got))) == len(set(label)) == len(set(got))


def test_lookups_and_reprocess(world):
    row = world.plumes.iloc[10]
    assert world.plume_index(row["id"]) == 10 and world.plume_index(row["plume_id"]) == 10
    assert world.plume_index("tan29991231t000000c00s4001-Z") is None
    scene = world.scenes.iloc[3]
    assert world.scene_index(scene["name"]) == 3 and world.scene_index(scene["id"]) == 3
    assert world.source_index(world.sources.at[2, "source_name"]) == 2
    fresh = build_world(WorldConfig(seed=7, n_plumes=1500, end=END))
    i = int(np.nonzero(fresh.plumes["emission_auto"].notna().to_numpy())[0][0])
    before = fresh.plumes.iloc[i].copy()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    new = reprocess(fresh, before["plume_id"], now)
    assert new["emission_version"] == "v3e" and new["modified"] == pd.Timestamp(now)
    assert 0.02 <= abs(new["emission_auto"] / before["emission_auto"] - 1) <= 0.06 + 1e-9
    assert new["l3a_vis_collection"].endswith("-v3e") and new["l3a_vis_collection"] in fresh.collections
    assert fresh.plumes.at[i, "emission_version"] == "v3e"
    with pytest.raises(KeyError):
        reprocess(fresh, "nope", now)


def test_full_world_builds_quickly_and_pages_fast():
    started = time.perf_counter()
    full = build_world(WorldConfig.from_scale("full", end=END))
    assert time.perf_counter() - started < 60
    assert len(full.plumes) == 100_000
    now = datetime(2026, 11, 24, tzinfo=UTC)
    select_plumes(full, PlumeQuery(), now)
    started = time.perf_counter()
    rows = select_plumes(full, PlumeQuery(plume_gas="CH4", sort="emissions_desc"), now)[:1000]
    assert time.perf_counter() - started < 0.5
    assert len(rows) == 1000
