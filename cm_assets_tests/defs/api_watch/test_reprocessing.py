"""``reprocessed_plume_sensor``: a re-versioned plume is recorded in the history and its day refreshed."""

from __future__ import annotations

import pytest
import requests
from dagster import materialize

from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.api_watch.events import observation_day
from cm_assets.defs.api_watch.history import read_history
from cm_assets.defs.api_watch.reprocessing import reprocessed_plume_sensor
from cm_assets.defs.resources import StorageResource
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.freshness import client_for, resource_for


def reprocess(replica, plume_id: str) -> dict:
    response = requests.post(f"{replica.admin_url}/reprocess", json={"plume_id": plume_id}, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.mark.timeout(240)
def test_reprocessed_plume_is_recorded_once_and_only_its_stored_day_refreshed(
        replica_factory, evaluate, tmp_path) -> None:
    replica = replica_factory()
    with client_for(replica) as client:
        newest = list(client.iter_plume_payloads(sort="published_desc", page_size=50, status="published"))
    stored = next(p for p in newest if p["emission_auto"] is not None)  # a null emission stays null
    day = observation_day(stored)
    other = next(p for p in newest if observation_day(p) != day)
    result = materialize([plume_catalog], partition_key=day,
                         resources={"carbonmapper": resource_for(replica),
                                    "storage": StorageResource(root=str(tmp_path))})
    assert result.success

    baseline = evaluate(reprocessed_plume_sensor, replica)
    assert baseline.run_requests == []
    changed = reprocess(replica, stored["plume_id"])
    reprocess(replica, other["plume_id"])  # modified upstream but never stored here: ignored

    tick = evaluate(reprocessed_plume_sensor, replica, baseline.cursor)
    assert [r.partition_key for r in tick.run_requests] == [day]
    assert tick.run_requests[0].tags["cm_assets/trigger"] == "reprocessed"
    history = read_history(Storage(str(tmp_path)))
    assert len(history) == 1
    row = history.iloc[0]
    assert row["plume_id"] == stored["plume_id"] and row["partition"] == day
    assert row["old_emission_version"] == stored["emission_version"]
    assert row["new_emission_version"] == changed["emission_version"]
    assert row["old_emission_auto"] == pytest.approx(stored["emission_auto"])
    assert row["new_emission_auto"] != pytest.approx(stored["emission_auto"])

    assert evaluate(reprocessed_plume_sensor, replica, tick.cursor).run_requests == []
    repeat = evaluate(reprocessed_plume_sensor, replica, baseline.cursor)  # a retried tick
    assert [r.run_key for r in repeat.run_requests] == [r.run_key for r in tick.run_requests]
    assert len(read_history(Storage(str(tmp_path)))) == 1
