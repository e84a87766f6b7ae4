"""The PostgreSQL instance profile: webserver and daemon as separate processes on one database, and
a backfill drained from the daemon's queue by parallel run processes that share one API budget."""

from __future__ import annotations

import itertools

import psycopg2
import pytest
import requests
from dagster import DagsterInstance
from dagster_graphql import DagsterGraphQLClient

from cm_assets.definitions import build_definitions
from cm_assets.defs.api_watch.runs import IN_PROCESS
from cm_assets.defs.resources import StorageResource
from cm_assets.storage.store import Storage
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.replica import replica_resource
from cm_assets_tests.deploy.services import PG_DB, PG_PASSWORD, PG_USER
from cm_assets_tests.deploy.stack import REPOSITORY
from cm_assets_tests.e2e.stack import wait_for
from cm_assets_tests.helpers.graph import pick_days

pytestmark = pytest.mark.deploy

RUN_TIMEOUT = 600
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_TAG = "cm_assets/deploy-test"


def _sql(postgres, query: str) -> list[tuple]:
    con = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=PG_USER, password=PG_PASSWORD,
                           dbname=PG_DB)
    try:
        with con.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        con.close()


def test_a_queued_run_is_stored_in_postgres(deployment, postgres, limited_replica):
    day = pick_days(limited_replica, count=1, low=2, high=3)[0]
    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.port)
    run_id = client.submit_job_execution("refresh_days", repository_location_name=deployment.location,
                                         repository_name=REPOSITORY, run_config=IN_PROCESS,
                                         tags={"dagster/partition": day})
    status = wait_for(lambda: (s := client.get_run_status(run_id).value) in DONE and s, RUN_TIMEOUT,
                      "the queued run", interval=2.0)
    assert status == "SUCCESS", deployment.daemon_log_tail()
    rows = _sql(postgres, f"SELECT status FROM runs WHERE run_id = '{run_id}'")
    assert rows == [("SUCCESS",)]
    events = _sql(postgres, "SELECT dagster_event_type, count(*) FROM event_logs "
                            f"WHERE run_id = '{run_id}' GROUP BY 1")
    kinds = sorted(kind for kind, _ in events)
    assert dict(events).get("ASSET_MATERIALIZATION", 0) >= 4, kinds
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING"} <= set(kinds), f"not queued: {kinds}"
    assert not (deployment.home / "history").exists(), "SQLite run storage was used"
    for log in (deployment.log_path, deployment.daemon_log_path):
        assert PG_PASSWORD not in log.read_text(errors="replace")


# -- a backfill across run processes ------------------------------------------------------------

BACKFILL_DAYS = 8
VOLATILE = {"checked_at", "quarantined_at"}
COMPARED_VIEWS = ("plumes", "plume_products", "scene_crops", "deferred_scenes", "quarantine")


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end before a start at the same time)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda edge: (edge[0], edge[1]))
    return max(itertools.accumulate(delta for _, delta in edges))


def _view_rows(database, view: str, root) -> list[tuple]:
    """Every row of ``view`` without run-time stamps, data-root prefixes and the query strings of
    signed URLs (their expiry and signature depend on when they were fetched), sorted."""
    columns, rows = run_query(database, f"SELECT * FROM {view}")
    keep = [i for i, name in enumerate(columns) if name not in VOLATILE]
    prefix = str(root)

    def clean(value):
        if not isinstance(value, str):
            return value
        if value.startswith("http"):
            value = value.split("?", 1)[0]
        return value.replace(prefix, "<root>")

    return sorted((tuple(clean(row[i]) for i in keep) for row in rows), key=repr)


def _replica_stats(replica) -> dict:
    return requests.get(f"{replica.admin_url}/stats", timeout=30).json()


@pytest.mark.parallel_backfill
@pytest.mark.timeout(1200)
def test_backfill_runs_in_parallel_processes_within_one_api_budget(deployment, limited_replica,
                                                                   tmp_path):
    days = pick_days(limited_replica, count=BACKFILL_DAYS, low=1, high=1)
    requests.post(f"{limited_replica.admin_url}/stats/reset", timeout=30).raise_for_status()
    parallel_root = tmp_path / "parallel"
    run_config = {**IN_PROCESS, "resources": {"storage": {"config": {"root": str(parallel_root)}}}}
    backfill = deployment.launch_backfill("refresh_days", days, run_config, {BACKFILL_TAG: "parallel"})

    created = deployment.run_timings({"dagster/backfill": backfill})
    assert sorted(_tags(r)["dagster/partition"] for r in created) == days  # one run per day

    def finished() -> list[dict] | None:
        runs = deployment.run_timings({"dagster/backfill": backfill})
        return runs if all(r["status"] in DONE for r in runs) else None

    runs = wait_for(finished, RUN_TIMEOUT, "the backfill's runs", interval=3.0)
    stats = _replica_stats(limited_replica)
    failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
    assert not failed, f"runs failed: {failed}\n{deployment.daemon_log_tail()}"

    # separate processes, several at once, never more than the instance allows
    overlap = _max_overlap([(r["startTime"], r["endTime"]) for r in runs])
    assert 3 <= overlap <= 4, sorted((r["startTime"], r["endTime"]) for r in runs)
    # one writer: the warehouse steps (pool "warehouse", one slot) never overlapped
    warehouse_steps = [(s["startTime"], s["endTime"]) for r in runs for s in r["stepStats"]
                       if s["stepKey"] == "warehouse"]
    assert len(warehouse_steps) == len(days)
    assert _max_overlap(warehouse_steps) == 1, sorted(warehouse_steps)
    # the shared budget was reached (429s happened) and every run waited instead of storming
    statuses = {code: n for route in stats["classes"].values() for code, n in route["status"].items()}
    throttled, served = statuses.get("429", 0), statuses.get("200", 0) + statuses.get("206", 0)
    assert throttled > 0, f"the rate limit was never reached: {stats}"
    assert throttled < served, f"429 storm: {statuses}"

    # the same days run one after the other give the same warehouse, row for row (the days are not
    # consecutive, so one range run would add the days between them)
    serial_root = tmp_path / "serial"
    job = build_definitions(replica_resource(limited_replica),
                            StorageResource(root=str(serial_root))).resolve_job_def("refresh_days")
    instance = DagsterInstance.ephemeral()
    for day in days:
        assert job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False).success
    for view in COMPARED_VIEWS:
        parallel_rows = _view_rows(parallel_root / "cm.duckdb", view, parallel_root)
        assert parallel_rows or view in ("deferred_scenes", "quarantine"), view
        serial_rows = _view_rows(serial_root / "cm.duckdb", view, serial_root)
        assert parallel_rows == serial_rows, _difference(view, parallel_rows, serial_rows)
    assert Storage(str(parallel_root)).glob("**/.*.tmp") == []


def _difference(view: str, parallel: list[tuple], serial: list[tuple]) -> str:
    """The rows only one side has, to say what differs when the two warehouses disagree."""
    only_parallel = [row for row in parallel if row not in serial]
    only_serial = [row for row in serial if row not in parallel]
    return (f"{view}: {len(parallel)} rows in parallel, {len(serial)} serially\n"
            f"only in parallel: {only_parallel[:5]}\nonly in serial: {only_serial[:5]}")


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}
