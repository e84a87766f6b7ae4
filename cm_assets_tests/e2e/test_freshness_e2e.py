"""End to end: replica + ``dagster dev``; the daemon's sensors request the changed days and its
automation sensor then refreshes the DuckDB warehouse."""

from __future__ import annotations

import time

import pytest
from dagster import DagsterRunStatus

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.api_watch.cursor import TimeCursor
from cm_assets.defs.api_watch.events import observation_day, to_event
from cm_assets_tests.e2e.flows import (RUN_TIMEOUT, advance_clock, finished_runs, first_cursor_tick,
                                       query_warehouse, reprocess, settled_warehouse, ticks_after)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def api_plumes(replica) -> list[dict]:
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        return list(client.iter_plume_payloads(status="published"))


@pytest.fixture(scope="module")
def arrivals(dagster_dev, e2e_replica) -> dict:
    """First tick (no backlog), then five replica days of publications picked up by the daemon."""
    first = first_cursor_tick(dagster_dev, "new_plume_sensor")
    cursor = TimeCursor.from_json(first["cursor"])
    initial = finished_runs(dagster_dev, "new_plumes", len(first["runIds"]), RUN_TIMEOUT)
    advance_clock(e2e_replica, 5 * 86400)
    arrived = [p for p in api_plumes(e2e_replica) if cursor.is_new(to_event(p, "published_at"))]
    days = {observation_day(p) for p in arrived}
    runs = finished_runs(dagster_dev, "new_plumes", len(initial) + len(days), RUN_TIMEOUT)
    return {"arrived": arrived, "days": days, "initial": initial, "runs": runs}


def test_new_publications_reach_the_warehouse_in_exactly_their_days(dagster_dev, e2e_replica, arrivals):
    arrived, days = arrivals["arrived"], arrivals["days"]
    assert 0 < len(arrived) <= 20 and days
    new_runs = [r for r in arrivals["runs"] if r["runId"] not in {i["runId"] for i in arrivals["initial"]}]
    assert sorted(r["tags"]["dagster/partition"] for r in new_runs) == sorted(days)
    assert sum(int(r["tags"]["cm_assets/new_plumes"]) for r in new_runs) == len(arrived)

    ids = {p["id"] for p in arrived}
    stored = dict(settled_warehouse(dagster_dev, "SELECT id, observation_day FROM plumes", None,
                                    lambda rows: ids <= {row[0] for row in rows}))
    initial_days = {r["tags"]["dagster/partition"] for r in arrivals["initial"]}
    # every stored day was run by a sensor or by another test's explicit run (in any test order)
    run_days = {r["tags"].get("dagster/partition") for r in dagster_dev.runs()}
    assert days | initial_days <= set(stored.values()) <= run_days
    upstream = {p["id"] for p in api_plumes(e2e_replica) if observation_day(p) in set(stored.values())}
    assert set(stored) == upstream  # the refreshed days hold exactly what the API publishes now

    ticks_after(dagster_dev, "new_plume_sensor", time.time(), 2, 120)
    assert len(dagster_dev.runs({"cm_assets/trigger": "new_plumes"})) == len(arrivals["runs"])


def test_reprocessed_plume_lands_in_the_history(dagster_dev, e2e_replica, arrivals):
    plume = next(p for p in arrivals["arrived"] if p["emission_auto"] is not None)  # null stays null
    [(old_version,)] = query_warehouse(dagster_dev, "SELECT emission_version FROM plumes WHERE id = ?",
                                       [plume["id"]])
    changed = reprocess(e2e_replica, plume["plume_id"])
    finished_runs(dagster_dev, "reprocessed", 1, RUN_TIMEOUT)
    # the version may stay the same (a plume already in the newest family); the history row is what
    # the refresh after the re-processed day's run adds, with the plume's new record, in one swap
    rows = settled_warehouse(dagster_dev, "SELECT partition, old_emission_version, new_emission_version, "
                             "old_emission_auto <> new_emission_auto FROM plume_history WHERE plume_id = ?",
                             [plume["plume_id"]], bool)
    assert rows == [(observation_day(plume), old_version, changed["emission_version"], True)]
    [(now_version,)] = query_warehouse(dagster_dev, "SELECT emission_version FROM plumes WHERE id = ?",
                                       [plume["id"]])
    assert now_version == changed["emission_version"]


def test_graphql_materialization_reports_status_and_metadata(dagster_dev, materialized_day):
    assert materialized_day["status"] == DagsterRunStatus.SUCCESS, dagster_dev.log_tail()
    day = materialized_day["day"]
    event = dagster_dev.latest_materialization("plume_catalog", day)
    assert event and event["runId"] == materialized_day["run_id"] and event["partition"] == day
    metadata = {e["label"]: e for e in event["metadataEntries"]}
    [(rows,)] = query_warehouse(dagster_dev, "SELECT count(*) FROM plumes WHERE observation_day = ?", [day])
    assert metadata["dagster/row_count"]["intValue"] == rows == len(materialized_day["plumes"])
    assert all(p["plume_id"] in metadata["preview"]["mdStr"] for p in materialized_day["plumes"][:10])
    products = dagster_dev.latest_materialization("plume_products", day)
    assert any("data:image/png;base64," in (e.get("mdStr") or "") for e in products["metadataEntries"])
