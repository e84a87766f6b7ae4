"""Session fixtures of the end-to-end tests: a replica and ``dagster dev`` against it.

Date-proof by construction: the replica's world and clock are pinned (the suite's ``REPLICA_END`` /
``REPLICA_CLOCK_START``) and the pipeline judges dates by the API's clock (its ``Date`` header), so
the wall-clock date only moves where Dagster's daily partitions end, which no test depends on; the
browser reaches a partition by URL, never by scrolling the (virtualized, newest-first) list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.api_watch.events import observation_day
from cm_assets.defs.api_watch.runs import IN_PROCESS
from cm_assets.replica.clock import parse_instant
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.replica import REPLICA_CLOCK_START, replica_process
from cm_assets_tests.e2e.flows import RUN_TIMEOUT
from cm_assets_tests.e2e.stack import REPOSITORY, DagsterDev, wait_for

SENSOR_INTERVAL_SECONDS = 5
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: Longest publication lag of the replica world: a day this much older than the replica clock's start
#: has all its plumes published, whatever the freshness tests later do to the clock.
PUBLICATION_LAG = timedelta(days=31)


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
    with replica_process(tmp_path_factory.mktemp("e2e-replica")) as process:
        yield process


@pytest.fixture(scope="session")
def dagster_dev(e2e_replica: ReplicaProcess, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[DagsterDev]:
    """``dagster dev`` on a free port with a temporary DAGSTER_HOME and data root; the daily schedule is
    stopped so that a wall-clock cron time during the session cannot add day runs (the sources' daily
    automation may add one sources refresh, which no test counts)."""
    with DagsterDev(tmp_path_factory.mktemp("e2e-dagster"), dagster_env(e2e_replica)) as dev:
        dev.stop_schedule("daily_catalog_schedule")
        yield dev


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Directory for screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def materialized_day(dagster_dev: DagsterDev, e2e_replica: ReplicaProcess) -> dict:
    """A settled day (every plume published, so no sensor run touches it, whichever test moved the
    replica clock first): the newest one with a quantified plume, materialized through
    ``DagsterGraphQLClient``."""
    settled = parse_instant(REPLICA_CLOCK_START) - PUBLICATION_LAG
    with CarbonMapperClient(e2e_replica.api_url, email=e2e_replica.email,
                            password=e2e_replica.password) as api:
        recent = list(api.iter_plume_payloads(
            observed=(settled - timedelta(days=60), settled - timedelta(seconds=1))))
        day = max(observation_day(p) for p in recent if p["emission_auto"] is not None)
        plumes = [p for p in recent if observation_day(p) == day]
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_dev.port)
    run_id = client.submit_job_execution("refresh_days", repository_location_name=dagster_dev.location,
                                         repository_name=REPOSITORY, tags={"dagster/partition": day},
                                         run_config=IN_PROCESS)
    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    status = wait_for(lambda: (s := client.get_run_status(run_id)) in done and s, RUN_TIMEOUT,
                      "the GraphQL-submitted run", interval=2.0)
    return {"day": day, "run_id": run_id, "status": status, "plumes": plumes}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing browser test keeps a screenshot of the page it failed on in ``test-artifacts/``."""
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and page is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"failed-{item.name}-{report.when}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as error:  # the browser itself may be what failed
            report.sections.append(("screenshot", f"no screenshot: {error}"))
        else:
            report.sections.append(("screenshot", f"page at failure: {path}"))
