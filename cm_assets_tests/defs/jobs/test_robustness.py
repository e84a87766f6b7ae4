"""One bad record or file never stops a run of many days, and nothing it returned vanishes.

The replica serves malformed records and damaged COGs on demand (``/_replica/corrupt``); each test
runs the real assets over HTTP and checks that the valid rows equal those of a clean run and that
every bad item is accounted for (quarantine with field and reason, or a row with status/error)."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from cm_assets.definitions import build_definitions
from cm_assets.defs.catalog.build import quarantined_payload
from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.partitions import range_tags
from cm_assets.defs.resources import StorageResource
from cm_assets.storage.layout import catalog_day, crops_day, products_day, quarantine_day
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.replica import replica_process, replica_resource
from cm_assets_tests.helpers.robustness import busiest_days, by_id, clear_corruptions, corrupt, raw_items

LONG_ID_TAIL = "x" * 300


def run_catalog(replica, root, days: list[str]):
    return materialize([plume_catalog], instance=DagsterInstance.ephemeral(), tags=range_tags(days[0], days[-1]),
                       resources={"carbonmapper": replica_resource(replica),
                                  "storage": StorageResource(root=str(root))}, raise_on_error=False)


def run_graph(replica, root, days: list[str]):
    defs = build_definitions(replica_resource(replica), StorageResource(root=str(root)))
    no_plots = {"config": {"plots": False}}
    return defs.resolve_job_def("refresh_days").execute_in_process(
        tags=range_tags(days[0], days[-1]), instance=DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"plume_products": no_plots, "scene_crops": no_plots}})


def tables(root, pattern: str) -> pd.DataFrame:
    return Storage(str(root)).read_tables(pattern)


def record_corruptions(ids: list[str], days: list[str]) -> dict[str, dict]:
    """One kind of damage per plume id (the keys are what the quarantine must name)."""
    elsewhere = f"{days[0]}T12:00:00Z"  # another day of the run: the record moves there
    outside = (pd.Timestamp(days[0]) - pd.Timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kinds = [
        ("plume_bounds", {"set": {"plume_bounds": 5}}),
        ("plume_bounds", {"set": {"plume_bounds": [1.0, None, 3.0, 4.0]}}),
        ("plume_bounds", {"set": {"plume_bounds": "[-103.9, 32.0,"}}),
        ("plume_bounds", {"set": {"plume_bounds": [-100.0, 40.0, -101.0, 91.0]}}),
        ("plume_id", {"set_id": LONG_ID_TAIL}),
        ("plume_id", {"set": {"plume_id": "../../etc/passwd-A"}}),
        ("emission_auto", {"set": {"emission_auto": float("nan")}}),
        ("emission_auto", {"set": {"emission_auto": float("inf")}}),
        ("emission_uncertainty_auto", {"set": {"emission_uncertainty_auto": -3.0}}),
        ("<record>", {"replace": "not a record"}),
        ("scene_timestamp", {"set": {"scene_timestamp": outside}}),
        ("moved", {"set": {"scene_timestamp": elsewhere}}),
        ("identical copy", {"copies": [{}]}),
        ("plume_id", {"copies": [{"set": {"emission_auto": 12.5}}]}),
    ]
    assert len(ids) >= len(kinds), f"only {len(ids)} plumes in {days}"
    out = {}
    for plume_id, (field, body) in zip(ids, kinds):
        if "set_id" in body:
            body = {"set": {"plume_id": plume_id.rsplit("-", 1)[0] + body.pop("set_id") + "-A"}}
        out[plume_id] = {"field": field, **body}
    return out


@pytest.fixture(scope="module")
def corruptible(tmp_path_factory):
    """A replica of this module only: its corruptions never reach other tests."""
    with replica_process(tmp_path_factory.mktemp("replica-corruptible")) as process:
        yield process


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The same world on other ports, never corrupted: GDAL caches remote reads per URL inside the
    process, so a clean run against the corrupted replica's URLs would hide the damage."""
    with replica_process(tmp_path_factory.mktemp("replica-pristine")) as process:
        yield process


@pytest.fixture(scope="module")
def corrupted_catalog(corruptible, tmp_path_factory):
    replica = corruptible
    days = busiest_days(replica, width=7)
    clean_root = tmp_path_factory.mktemp("clean")
    assert run_catalog(replica, clean_root, days).success
    clean = tables(clean_root, "catalog/day=*.parquet")
    plan = record_corruptions(sorted(clean["plume_id"]), days)
    for plume_id, body in plan.items():
        corrupt(replica, plume_id=plume_id, **{k: v for k, v in body.items() if k != "field"})
    served = raw_items(replica, days)
    root = tmp_path_factory.mktemp("corrupted")
    result = run_catalog(replica, root, days)
    clear_corruptions(replica)
    return {"days": days, "clean": clean, "plan": plan, "served": served, "result": result,
            "catalog": tables(root, "catalog/day=*.parquet"), "quarantine": tables(root, "quarantine/day=*.parquet"),
            "root": root}


def test_bad_records_do_not_fail_the_run_and_valid_rows_are_unaffected(corrupted_catalog):
    run = corrupted_catalog
    assert run["result"].success
    plan, catalog, clean = run["plan"], by_id(run["catalog"]), by_id(run["clean"])
    kept = [pid for pid in clean.index if pid not in plan or plan[pid]["field"] == "identical copy"]
    columns = [c for c in clean.columns if c != "geometry"]
    pd.testing.assert_frame_equal(catalog.loc[kept, columns], clean.loc[kept, columns])
    assert set(catalog.index) == set(kept) | {pid for pid, body in plan.items() if body["field"] == "moved"}


def test_each_bad_record_is_quarantined_with_its_field_and_reason(corrupted_catalog):
    run = corrupted_catalog
    quarantine = run["quarantine"]
    original = run["clean"].set_index("id")["plume_id"]

    def source(payload: str) -> str | None:
        item = json.loads(payload)
        return original.get(item.get("id")) if isinstance(item, dict) else None

    quarantine = quarantine.assign(original=quarantine["payload"].map(source))
    replaced = [pid for pid, body in run["plan"].items() if "replace" in body]
    quarantine.loc[quarantine["payload"] == json.dumps("not a record"), "original"] = replaced[0]
    assert quarantine["original"].notna().all(), quarantine[["plume_id", "field", "reason"]]
    for plume_id, body in run["plan"].items():
        rows = quarantine[quarantine["original"] == plume_id]
        if body["field"] in ("moved", "identical copy"):
            assert rows.empty
            continue
        assert (rows["field"] == body["field"]).all() and len(rows), (plume_id, body, rows[["field", "reason"]])
        assert rows["reason"].str.len().gt(len(body["field"]) + 2).all()
    conflicting = quarantine[quarantine["reason"].str.contains("duplicate", na=False)]
    assert len(conflicting) == 2 and conflicting["plume_id"].nunique() == 1
    outside = quarantine[quarantine["field"] == "scene_timestamp"]
    assert len(outside) == 1 and "outside the days of this run" in outside.iloc[0]["reason"]
    checks = {c.check_name: c for c in run["result"].get_asset_check_evaluations()}
    assert not checks["unique_plume_ids"].passed
    assert checks["unique_plume_ids"].metadata["conflicting_copies_quarantined"].value == 1


def test_a_record_observed_on_another_day_of_the_run_moves_there(corrupted_catalog):
    run = corrupted_catalog
    moved = [pid for pid, body in run["plan"].items() if body["field"] == "moved"]
    row = by_id(run["catalog"]).loc[moved[0]]
    assert row["observation_day"] == run["days"][0]
    assert Storage(str(run["root"])).read_parquet(catalog_day(run["days"][0]))["plume_id"].eq(moved[0]).any()


def test_every_record_the_api_returned_is_in_the_catalog_or_in_quarantine(corrupted_catalog):
    run = corrupted_catalog
    catalog_ids = set(run["catalog"]["plume_id"])
    quarantined = run["quarantine"]["payload"].tolist()
    served = run["served"]
    assert len(served) > len(run["clean"])  # the copies were served
    unaccounted = []
    for item in served:
        text = quarantined_payload(item)
        in_catalog = isinstance(item, dict) and item.get("plume_id") in catalog_ids
        if not in_catalog and text not in quarantined:
            unaccounted.append(item)
    assert unaccounted == []
    assert run["quarantine"]["reason"].notna().all() and run["quarantine"]["field"].notna().all()
    # the numbers add up: catalog rows + quarantine rows + collapsed identical copies = items served
    identical = sum(1 for body in run["plan"].values() if body["field"] == "identical copy")
    assert len(run["catalog"]) + len(run["quarantine"]) + identical == len(served)


@pytest.fixture(scope="module")
def damaged_files(corruptible, pristine, tmp_path_factory):
    """The graph over a few days, clean and with one plume's L3A products and another plume's L2B
    scene served as non-raster bytes; stale temporaries of a killed write planted beforehand."""
    replica = corruptible
    days = busiest_days(replica, width=2)
    clean_root = tmp_path_factory.mktemp("files-clean")
    assert run_graph(pristine, clean_root, days).success
    clean_crops = by_id(tables(clean_root, "crops/day=*.parquet"))
    clean_products = by_id(tables(clean_root, "products/day=*.parquet"))
    ok = clean_crops[clean_crops["status"] == "ok"]
    assert len(ok) >= 2, clean_crops["status"]
    scene_victim = ok.index[0]
    product_victim = next(pid for pid in ok.index[1:] if ok.loc[pid, "scene_name"] != ok.loc[scene_victim, "scene_name"])
    corrupt(replica, asset=f"/{ok.loc[scene_victim, 'scene_name']}/")
    corrupt(replica, asset=f"/{product_victim}/")
    root = tmp_path_factory.mktemp("files-damaged")
    stale = plant_temporaries(root, days[0], product_victim)
    result = run_graph(replica, root, days)
    clear_corruptions(replica)
    return {"days": days, "result": result, "root": root, "stale": stale,
            "clean_crops": clean_crops, "clean_products": clean_products,
            "crops": by_id(tables(root, "crops/day=*.parquet")),
            "products": by_id(tables(root, "products/day=*.parquet")),
            "scene_victim": scene_victim, "product_victim": product_victim}


def plant_temporaries(root, day: str, plume_id: str) -> dict[str, list]:
    """Hidden temporaries as a write killed an hour ago leaves them, and one of a live writer."""
    old = time.time() - 3600
    stale = [f"catalog/.day={day}.parquet.0123456789abcdef.tmp", f"products/.day={day}.parquet.fedcba98.tmp",
             f"products/{plume_id}/.mask.tif.a1b2c3d4.tmp", f"crops/{plume_id}/.cmf.tif.5e6f7a8b.tmp"]
    live = [f"products/{plume_id}/.rgb.tif.99999999.tmp"]
    for rel in stale + live:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
        if rel in stale:
            os.utime(path, (old, old))
    return {"stale": stale, "live": live}


def test_a_damaged_cog_is_an_error_row_and_the_run_goes_on(damaged_files):
    run = damaged_files
    assert run["result"].success
    crops, products = run["crops"], run["products"]
    assert set(crops.index) == set(run["clean_crops"].index)
    scene_row = crops.loc[run["scene_victim"]]
    assert scene_row["status"] == "error" and "RasterioIOError" in scene_row["reason"]
    product_row = products.loc[run["product_victim"]]
    assert pd.notna(product_row["error"]) and "Signature" not in product_row["error"]
    victim_scene = crops.loc[run["scene_victim"], "scene_name"]
    assert (crops.loc[crops["scene_name"] == victim_scene, "status"] == "error").all()
    others = [pid for pid in crops.index
              if crops.loc[pid, "scene_name"] != victim_scene and pid != run["product_victim"]]
    assert others
    pd.testing.assert_series_equal(crops.loc[others, "status"], run["clean_crops"].loc[others, "status"])
    unaffected = [pid for pid in products.index if pid != run["product_victim"]]
    assert products.loc[unaffected, "error"].isna().all()
    for column in ("mask_pixels", "emission_recomputed"):
        pd.testing.assert_series_equal(products.loc[unaffected, column], run["clean_products"].loc[unaffected, column])


def test_the_next_run_removes_a_killed_writes_temporaries(damaged_files):
    run = damaged_files
    for rel in run["stale"]["stale"]:
        assert not (run["root"] / rel).exists(), rel
    for rel in run["stale"]["live"]:
        assert (run["root"] / rel).exists(), rel
    assert Storage(str(run["root"])).exists(products_day(run["days"][0]))
    assert Storage(str(run["root"])).exists(crops_day(run["days"][0]))


def test_only_a_run_wide_failure_fails_the_run(corruptible, tmp_path, monkeypatch):
    replica = corruptible
    resource = replica_resource(replica)
    monkeypatch.setenv(resource.password_env, "wrong-password")
    days = busiest_days(replica, width=1)
    result = materialize([plume_catalog], instance=DagsterInstance.ephemeral(), partition_key=days[0],
                         resources={"carbonmapper": resource, "storage": StorageResource(root=str(tmp_path))},
                         raise_on_error=False)
    assert not result.success
    assert not Storage(str(tmp_path)).exists(quarantine_day(days[0]))
