"""Session fixtures of the end-to-end tests: a replica and ``dagster dev`` against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.freshness.events import observation_day
from cm_assets.defs.freshness.runs import IN_PROCESS
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.e2e.flows import RUN_TIMEOUT
from cm_assets_tests.e2e.stack import REPOSITORY, DagsterDev, wait_for

REPLICA_END = "2026-11-24"
REPLICA_CLOCK_START = "2026-11-25T00:00:00Z"
SENSOR_INTERVAL_SECONDS = 5
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def dagster_env(replica: ReplicaProcess) -> dict[str, str]:
    """Environment of ``dagster dev``: the replica as API, fast sensors, a first tick without backlog."""
    return {
        "CARBONMAPPER_API_URL": replica.api_url,
        "CARBONMAPPER_EMAIL": replica.email,
        "CARBONMAPPER_PASSWORD": replica.password,
        "CM_ASSETS_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL_SECONDS),
        "CM_ASSETS_FRESHNESS_LOOKBACK_DAYS": "0",
    }


@pytest.fixture(scope="session")
def e2e_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaProcess]:
    """A tiny replica whose clock the e2e tests move (not the shared session replica)."""
    process = ReplicaProcess(tmp_path_factory.mktemp("e2e-replica"), scale="tiny", end=REPLICA_END,
                             extra_args=["--clock-start", REPLICA_CLOCK_START]).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def dagster_dev(e2e_replica: ReplicaProcess, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[DagsterDev]:
    """``dagster dev`` on a free port with a temporary DAGSTER_HOME and data root; the schedules are
    stopped so that a wall-clock cron time during the session cannot add runs."""
    with DagsterDev(tmp_path_factory.mktemp("e2e-dagster"), dagster_env(e2e_replica)) as dev:
        for schedule in ("daily_catalog_schedule", "sources_schedule"):
            dev.stop_schedule(schedule)
        yield dev


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Directory for screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def materialized_day(dagster_dev: DagsterDev, e2e_replica: ReplicaProcess) -> dict:
    """The day of the newest quantified plume, materialized through ``DagsterGraphQLClient``."""
    with CarbonMapperClient(e2e_replica.api_url, email=e2e_replica.email,
                            password=e2e_replica.password) as api:
        newest = next(p for p in api.iter_plume_payloads(sort="published_desc")
                      if p["emission_auto"] is not None)
        day = observation_day(newest)
        plumes = [p for p in api.iter_plume_payloads() if observation_day(p) == day]
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_dev.port)
    run_id = client.submit_job_execution("refresh_days", repository_location_name=dagster_dev.location,
                                         repository_name=REPOSITORY, tags={"dagster/partition": day},
                                         run_config=IN_PROCESS)
    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    status = wait_for(lambda: (s := client.get_run_status(run_id)) in done and s, RUN_TIMEOUT,
                      "the GraphQL-submitted run", interval=2.0)
    return {"day": day, "run_id": run_id, "status": status, "plumes": plumes}
