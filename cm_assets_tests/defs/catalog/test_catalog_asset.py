"""``plume_catalog`` invoked directly for one day of the in-process replica."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

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


def test_a_run_of_many_days_writes_each_day_its_own_file_metadata_and_quarantine(local_replica, tmp_path):
    import pyarrow.parquet as pq
    from dagster import DagsterInstance, materialize

    from cm_assets.defs.partitions import range_tags
    from cm_assets.defs.resources import StorageResource
    from cm_assets_tests.helpers.replica import replica_resource

    counts = plumes_per_day(local_replica)
    days = sorted(counts)[-12:]
    bad_day = next(d for d in days if counts[d] >= 2)
    victim = served_ids(local_replica, bad_day)[0]
    corrupt(local_replica, plume_id=victim, set={"emission_auto": "a lot"})
    try:
        result = materialize([plume_catalog], tags=range_tags(days[0], days[-1]),
                             resources={"carbonmapper": replica_resource(local_replica),
                                        "storage": StorageResource(root=str(tmp_path))},
                             instance=DagsterInstance.ephemeral())
    finally:
        clear_corruptions(local_replica)
    store = Storage(str(tmp_path))
    metadata = materialization_metadata(result, plume_catalog)
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    every_day = [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]
    assert sorted(metadata) == every_day  # one materialization per day partition
    for day in every_day:
        rows = store.read_parquet(layout.catalog_day(day))
        expected = [i for i in served_ids(local_replica, day) if i != victim]
        assert sorted(rows["plume_id"]) == expected and set(rows["observation_day"]) <= {day}
        assert metadata[day]["dagster/row_count"] == len(rows)
        assert metadata[day]["by_instrument"] == rows["instrument"].value_counts().to_dict()
        previewed = [line.split(" | ")[0].lstrip("| ") for line in metadata[day]["preview"].splitlines()[2:]]
        assert previewed == list(rows["plume_id"][:10])  # the day's own first rows
        assert metadata[day]["quarantined"] == (1 if day == bad_day else 0)
        assert store.exists(layout.quarantine_day(day)) == (day == bad_day)
        geo = json.loads(pq.read_schema(store.uri(layout.catalog_day(day))).metadata[b"geo"])
        if len(rows):  # the file's bbox is that of its own rows
            assert geo["columns"]["geometry"]["bbox"] == list(rows.total_bounds)
    assert list(store.read_parquet(layout.quarantine_day(bad_day))["plume_id"]) == [victim]
    assert all(check_results(result).values())


def test_prefetched_chunks_are_the_fetched_chunks_in_order(local_replica):
    from cm_assets.defs.day_records import day_chunks, fetch_payloads_by_day, prefetched_payloads

    first = date.fromisoformat(min(plumes_per_day(local_replica)))
    days = [(first + timedelta(n)).isoformat() for n in range(100)]  # two chunks: 92 + 8 days
    with client_for(local_replica) as client:
        prefetched = list(prefetched_payloads(client, days))
        direct = [(chunk, fetch_payloads_by_day(client, chunk)) for chunk in day_chunks(days)]
    assert [chunk for chunk, _ in prefetched] == day_chunks(days) and len(prefetched) == 2
    ids = [[{day: sorted(p["plume_id"] for p in found) for day, found in payloads.items()}
            for _, payloads in run] for run in (prefetched, direct)]
    assert ids[0] == ids[1]
    assert sum(len(ps) for _, p in prefetched for ps in p.values()) > 0


def test_the_gases_of_a_chunk_are_listed_at_once(local_replica, monkeypatch):
    """Both gases' listings wait for each other at a barrier: listed one after the other, the first
    would time out. Each record still lands on its own day, in the order the gases are listed."""
    from cm_assets.defs import day_records

    days = sorted(plumes_per_day(local_replica))[:3]
    both = threading.Barrier(len(day_records.GASES), timeout=20)
    listing = day_records._listing
    monkeypatch.setattr(day_records, "_listing", lambda *args: both.wait() * 0 or listing(*args))
    with client_for(local_replica) as client:
        payloads = day_records.fetch_payloads_by_day(client, days)
        window = (day_window(days[0])[0], day_window(days[-1])[1])
        one_by_one = [listing(client, gas, window) for gas in day_records.GASES]
    for day, found in payloads.items():
        assert {day_records._record_day(p, "") for p in found} <= {day}
    assert [p["plume_id"] for day in days for p in payloads[day]] == [
        p["plume_id"] for day in days for gas in one_by_one for p in gas
        if day_records._record_day(p, "") == day]
    assert sum(map(len, payloads.values())) > 0


def test_a_data_root_holding_another_apis_data_is_refused_before_anything_is_written(local_replica, tmp_path):
    """The demo's synthetic plumes and the real catalog must not meet in one warehouse."""
    from cm_assets.storage.origin import claim_data_root

    store = Storage(str(tmp_path))
    claim_data_root(store, "https://api.carbonmapper.org/api/v1")
    day = sorted(plumes_per_day(local_replica))[-1]
    with pytest.raises(Exception, match="holds data fetched from https://api.carbonmapper.org/api/v1"):
        run_asset(plume_catalog, local_replica, tmp_path, day)
    assert store.glob(layout.day_table_glob("plumes")) == []
