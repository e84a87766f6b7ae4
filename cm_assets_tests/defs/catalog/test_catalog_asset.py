"""``plume_catalog`` invoked directly for one day of the in-process replica."""

from __future__ import annotations

import json

import pytest

from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.partitions import day_window
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.robustness import clear_corruptions, corrupt
from cm_assets_tests.helpers.assets import check_results, materialization_metadata, plumes_per_day, run_asset
from cm_assets_tests.helpers.freshness import client_for

pytestmark = pytest.mark.fast


def served_ids(replica, day: str) -> list[str]:
    with client_for(replica) as client:
        return sorted(p.plume_id for gas in ("CH4", "CO2")
                      for p in client.iter_plumes(gas=gas, observed=day_window(day)))


def test_one_day_is_written_with_every_served_plume_and_passing_checks(catalog_stage, local_replica):
    rows = catalog_stage.store.read_parquet(layout.catalog_day(catalog_stage.day))
    assert sorted(rows["plume_id"]) == served_ids(local_replica, catalog_stage.day)
    assert rows.crs.to_epsg() == 4326 and rows.geometry.notna().all()
    assert set(rows["scene_timestamp"].astype(str).str[:10]) == {catalog_stage.day}
    assert not catalog_stage.store.exists(layout.quarantine_day(catalog_stage.day))
    checks = check_results(catalog_stage.result)
    assert {"schema", "unique_plume_ids", "valid_geometries", "non_negative_emissions"} <= set(checks)
    assert all(checks.values()), checks
    metadata = materialization_metadata(catalog_stage.result, plume_catalog)[catalog_stage.day]
    assert metadata["dagster/row_count"] == len(rows) and metadata["quarantined"] == 0


def test_a_bad_record_is_quarantined_with_its_field_and_the_rest_of_the_day_kept(local_replica, tmp_path):
    day = max(d for d, n in plumes_per_day(local_replica).items() if 2 <= n <= 4)
    ids = served_ids(local_replica, day)
    victim = ids[0]
    corrupt(local_replica, plume_id=victim, set={"emission_auto": "a lot"})
    try:
        result = run_asset(plume_catalog, local_replica, tmp_path, day)
    finally:
        clear_corruptions(local_replica)
    store = Storage(str(tmp_path))
    assert sorted(store.read_parquet(layout.catalog_day(day))["plume_id"]) == ids[1:]
    quarantine = store.read_parquet(layout.quarantine_day(day))
    assert list(quarantine["plume_id"]) == [victim]
    assert quarantine.iloc[0]["field"] == "emission_auto"
    assert json.loads(quarantine.iloc[0]["payload"])["emission_auto"] == "a lot"
    assert check_results(result)["unique_plume_ids"]
    assert materialization_metadata(result, plume_catalog)[day]["quarantined"] == 1
