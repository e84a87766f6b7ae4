"""API shapes from world rows, and the query semantics behind the listing endpoints."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import shapely

from cm_assets.replica import plume_records, product_files, scene_records, source_stats, stac_records
from cm_assets.replica.query import PlumeQuery, select_plumes, select_scenes
from cm_assets.replica.world import WorldConfig, utc_ns
from cm_assets.replica.world_generator import build_world

pytestmark = pytest.mark.fast

END = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, tzinfo=UTC)
API = "http://127.0.0.1:1/api/v1"
SPEC_FIELDS = {  # spec §4.3: the 35 fields of PlumeAnnotatedOut
    "id", "plume_id", "gas", "geometry_json", "scene_id", "scene_timestamp", "instrument", "mission_phase",
    "platform", "emission_auto", "emission_uncertainty_auto", "emission_cmf_type", "cmf_type", "gsd",
    "sensitivity_mode", "off_nadir", "plume_tif", "con_tif", "plume_png", "rgb_png", "plume_rgb_png",
    "plume_bounds", "plume_quality", "wind_speed_avg_auto", "wind_direction_avg_auto", "emission_version",
    "processing_software", "publication_sources", "is_offshore", "collection", "sector", "status",
    "hide_emission", "published_at", "modified",
}
PATH = re.compile(r"^/(?P<c>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<item>[^/]+)/(?P=item)_(?P=c)_(?P<key>[a-z.-]+)$")


def cdn(path: str) -> str:
    return f"http://cdn.test{path}?Expires=1&Signature=x&Key-Pair-Id=k"


@pytest.fixture(scope="module")
def world():
    return build_world(WorldConfig(seed=11, n_plumes=1500, end=END))


def _row(world, predicate) -> int:
    return int(np.nonzero(predicate(world.plumes).to_numpy())[0][0])


def test_plume_record_has_exactly_the_spec_fields(world):
    assert len(SPEC_FIELDS) == 35 and set(plume_records.PLUME_PAYLOAD_FIELDS) == SPEC_FIELDS
    rec = plume_records.plume_record(world, 0, cdn)
    assert set(rec) == SPEC_FIELDS
    json.dumps(rec, allow_nan=False)
    p = world.plumes.iloc[0]
    scene = world.scenes.iloc[p["scene_idx"]]
    assert rec["scene_id"] == scene["id"] and rec["plume_id"].rsplit("-", 1)[0] == scene["name"]
    assert rec["geometry_json"] == {"type": "Point", "coordinates": [p["lon"], p["lat"]]}
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", rec["scene_timestamp"])
    w, s, e, n = rec["plume_bounds"]
    assert w < p["lon"] < e and s < p["lat"] < n


def test_asset_urls_follow_the_universal_grammar(world):
    i = _row(world, lambda p: (p["emission_version"] == "v3c") & (p["gas"] == "CH4") & (p["missing_assets"].map(len) == 0))
    rec = plume_records.plume_record(world, i, cdn)
    for field, key in (("plume_tif", "plume.tif"), ("con_tif", "ime-cmf-concentrations.tif"), ("plume_rgb_png", "plume-rgb.png")):
        path = rec[field].split("?")[0].removeprefix("http://cdn.test")
        m = PATH.match(path)
        assert m and m["item"] == rec["plume_id"] and m["key"] == key
        assert m["y"] + m["m"] + m["d"] == rec["plume_id"][3:11]
    assert "/l3a-vis-ch4-mfa-v3c/" in rec["plume_tif"] and "/l3a-ime-ch4-mfa-v3c/" in rec["con_tif"]
    legacy = _row(world, lambda p: p["emission_version"] == "v1")
    assert plume_records.plume_record(world, legacy, cdn)["con_tif"] is None
    assert product_files.asset_path("l2b-ch4-mfa-v3c", "tan20260331t181625c77s4001", "cmf.tif") == (
        "/l2b-ch4-mfa-v3c/2026/03/31/tan20260331t181625c77s4001/tan20260331t181625c77s4001_l2b-ch4-mfa-v3c_cmf.tif"
    )


def test_null_and_hidden_emissions_are_json_null(world):
    null = plume_records.plume_record(world, _row(world, lambda p: p["emission_auto"].isna()), cdn)
    assert null["emission_auto"] is None and null["emission_uncertainty_auto"] is None
    hidden_row = _row(world, lambda p: p["hide_emission"] & p["emission_auto"].notna())
    hidden = plume_records.plume_record(world, hidden_row, cdn)
    assert hidden["hide_emission"] is True and hidden["emission_auto"] is None


def test_csv_row_column_order_and_values(world):
    assert plume_records.PLUME_CSV_COLUMNS[:16] == (
        "plume_id", "plume_latitude", "plume_longitude", "datetime", "country", "state_province", "ipcc_sector",
        "gas", "emission_cmf_type", "plume_bounds", "instrument", "mission_phase", "published_at", "modified",
        "emission_version", "processing_software",
    )
    i = _row(world, lambda p: (p["sector"] == "1B2") & p["emission_auto"].isna())
    row = plume_records.plume_csv_row(world, i, cdn)
    assert tuple(row) == plume_records.PLUME_CSV_COLUMNS
    assert row["ipcc_sector"] == "Oil & Gas (1B2)" and row["emission_auto"] == ""
    assert len(json.loads(row["plume_bounds"])) == 4


def test_query_filters(world):
    p = world.plumes
    everything = select_plumes(world, PlumeQuery(), NOW)
    assert len(everything) == int((p["published_at"] <= pd.Timestamp(NOW)).sum())
    earlier = select_plumes(world, PlumeQuery(), datetime(2025, 1, 1, tzinfo=UTC))
    assert 0 < len(earlier) < len(everything)
    co2 = select_plumes(world, PlumeQuery(plume_gas="CO2"), NOW)
    assert len(co2) and (p.loc[co2, "gas"] == "CO2").all()
    value = float(p["emission_auto"].dropna().iloc[5])
    exact = select_plumes(world, PlumeQuery(emission_min=value, emission_max=value), NOW)
    assert value in set(p.loc[exact, "emission_auto"])
    sectors = select_plumes(world, PlumeQuery(sectors=("6A", "4B")), NOW)
    assert set(p.loc[sectors, "sector"]) == {"6A", "4B"}
    tan = select_plumes(world, PlumeQuery(instruments=("tan",)), NOW)
    assert set(p.loc[tan, "plume_id"].str[:3]) == {"tan"}
    bbox = (-104.5, 31.5, -103.5, 32.8)
    inside = select_plumes(world, PlumeQuery(bbox=bbox), NOW)
    assert len(inside) and p.loc[inside, "lon"].between(-104.5, -103.5).all()
    poly = select_plumes(world, PlumeQuery(intersects=shapely.box(*bbox)), NOW)
    assert set(poly) == set(inside)
    window = (datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC))
    dec = select_plumes(world, PlumeQuery(observed=window), NOW)
    assert set(p.loc[dec, "emission_version"]) == {"v3b"}
    assert len(select_plumes(world, PlumeQuery(status="deleted"), NOW)) == 0
    assert len(select_plumes(world, PlumeQuery(status="published"), NOW)) == len(everything)
    pid = p.at[int(everything[0]), "plume_id"]
    assert list(select_plumes(world, PlumeQuery(plume_names=(pid,)), NOW)) == [everything[0]]
    scene = pid.rsplit("-", 1)[0]
    assert set(p.loc[select_plumes(world, PlumeQuery(scene_name=scene), NOW), "plume_id"].str[: len(scene)]) == {scene}
    with pytest.raises(ValueError, match="sort"):
        PlumeQuery(sort="newest")


def test_query_sorts(world):
    p = world.plumes
    ts = utc_ns(world.scenes["timestamp"])[p["scene_idx"].to_numpy()]
    desc = select_plumes(world, PlumeQuery(), NOW)
    assert (np.diff(ts[desc].astype("int64")) <= 0).all()
    asc = select_plumes(world, PlumeQuery(sort="asc"), NOW)
    assert list(asc) == list(desc[::-1])
    em = select_plumes(world, PlumeQuery(sort="emissions_desc"), NOW)
    values = p["emission_auto"].where(~p["hide_emission"]).to_numpy()[em]
    known = values[~np.isnan(values)]
    assert (np.diff(known) <= 0).all() and np.isnan(values[len(known):]).all()
    pub = select_plumes(world, PlumeQuery(sort="published_asc"), NOW)
    assert (np.diff(utc_ns(p["published_at"])[pub].astype("int64")) >= 0).all()


def test_source_features_and_detail(world):
    features = source_stats.source_features(world, PlumeQuery(plume_gas="CH4"), NOW)
    assert features
    names = [f["properties"]["source_name"] for f in features]
    suffixed = [n for n in names if "?" in n]
    assert 0 < len(suffixed) < 0.15 * len(names)
    assert all(n.split("?", 1)[1].startswith("plume_gas=CH4") for n in suffixed)
    for f in features:
        props = f["properties"]
        assert 0 < props["persistence"] <= 1
        assert props["plume_count"] == len(props["plume_ids"])
        assert props["detection_date_count"] <= props["observation_date_count"]
        assert props["source_name"].split("?")[0] == f["id"]
        assert f["geometry"]["coordinates"] == [float(x) for x in f["id"].split("_")[-2:]]
    big = max(features, key=lambda f: f["properties"]["plume_count"])
    detail = source_stats.source_detail(world, big["properties"]["source_name"] + "?plume_gas=CH4", NOW, cdn)
    assert detail["source_name"] == big["id"]
    assert len(detail["plumes"]) == big["properties"]["plume_count"]
    assert set(detail["plumes"][0]) == SPEC_FIELDS
    assert detail["source"]["persistence"] == big["properties"]["persistence"]
    assert len(detail["observation_dates"]) == big["properties"]["observation_date_count"]
    emissions = [r["emission_auto"] for r in detail["plumes"] if r["emission_auto"] is not None]
    if emissions:
        assert detail["source"]["emission_auto"] == pytest.approx(detail["source"]["persistence"] * np.mean(emissions))
    assert set(detail["detection_dates"]) <= set(detail["observation_dates"])
    assert source_stats.source_for_plume(world, detail["plumes"][0]["plume_id"], NOW) == big["id"]
    assert source_stats.source_detail(world, "CH4_1B2_100m_0.00000_0.00000", NOW, cdn) is None
    bbox = (-104.5, 31.5, -103.5, 32.8)
    local = source_stats.source_features(world, PlumeQuery(plume_gas="CH4", bbox=bbox), NOW)
    assert 0 < len(local) < len(features)


def test_scene_annotated_and_scene_selection(world):
    rows = select_scenes(world, (-104.5, 31.5, -103.5, 32.8), None, ("tan",), None, NOW)
    assert len(rows)
    scene = scene_records.scene_annotated(world, int(rows[0]), NOW)
    assert scene["instrument"] == "tan" and scene["name"].startswith("tan")
    assert {"id", "name", "bounds", "timestamp", "published_at", "published_plume_count", "cloud_cover_pct"} <= set(scene)
    times = utc_ns(world.scenes["timestamp"])[rows]
    assert (np.diff(times.astype("int64")) >= 0).all()


def test_stac_items_only_for_stac_resident_collections(world):
    assert stac_records.stac_items(world, "l2b-ch4-mfa-v3c", NOW) == []
    assert stac_records.stac_items(world, "l2b-ch4-mfa-v3q", NOW) == []
    items = stac_records.stac_items(world, "l2b-ch4-mfa-v3a", NOW)
    assert items and {k for k, _ in items} == {"l2b"}
    item = stac_records.stac_item(world, items[0][1], "l2b-ch4-mfa-v3a", API)
    scene = world.scenes.iloc[items[0][1]]
    assert item["id"] == scene["name"] and item["properties"]["datetime"] == scene["timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["properties"]["platform"] == scene["instrument"]
    assert item["properties"]["platform"] in {"tan", "emi", "GAO", "av3", "ang"}
    assert set(item["assets"]) <= set(stac_records.L2B_ASSETS) and "cmf.tif" in item["assets"]
    assert item["assets"]["cmf.tif"]["href"].startswith(f"{API}/catalog/asset/l2b-ch4-mfa-v3a/")
    assert {link["rel"] for link in item["links"]} >= {"self", "parent", "root", "collection"}
    vis = stac_records.stac_items(world, "l3a-vis-ch4-mfa-v3a", NOW)
    vitem = stac_records.stac_item(world, vis[0][1], "l3a-vis-ch4-mfa-v3a", API)
    assert vitem["id"] == world.plumes.at[vis[0][1], "plume_id"] and "plume-outline.geojson" in vitem["assets"]
    no_mask = world.scenes.index[(~world.scenes["has_artifact_mask"]) & (world.scenes["l2b_version"] == "v3a")]
    if len(no_mask):
        assert "artifact-mask.tif" not in stac_records.stac_item(world, int(no_mask[0]), "l2b-ch4-mfa-v3a", API)["assets"]
    collection = stac_records.stac_collection(world, "l2b-ch4-mfa-v3a", API)
    assert collection["type"] == "Collection" and collection["extent"]["temporal"]["interval"][0][0] >= "2025-07-11"
    early = stac_records.stac_items(world, "l2b-ch4-mfa-v3a", datetime(2025, 9, 1, tzinfo=UTC))
    assert len(early) < len(items)
