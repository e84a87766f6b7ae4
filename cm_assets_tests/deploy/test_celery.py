"""Distributed step execution: ``CM_ASSETS_EXECUTOR=celery`` sends each step of a run through a
Redis broker to Celery worker processes that share the PostgreSQL instance."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from cm_assets.processes import stop_group
from cm_assets.sql.query import run_query
from cm_assets_tests.deploy.services import RedisServer, require_binary
from cm_assets_tests.deploy.stack import BIN, DEPLOY_INSTANCE
from cm_assets_tests.e2e.stack import REPO_ROOT, wait_for
from cm_assets_tests.helpers.graph import pick_days

pytestmark = [pytest.mark.deploy, pytest.mark.celery]

WORKERS = 2
RUN_TAG = "cm_assets/celery-test"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    require_binary("redis-server (Debian package redis-server)", shutil.which("redis-server") is not None)
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def celery_env(postgres, redis_server, replica, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("celery-home")
    shutil.copyfile(DEPLOY_INSTANCE, home / "dagster.yaml")
    env = {**os.environ, **postgres.env(), "DAGSTER_HOME": str(home),
           "CM_ASSETS_EXECUTOR": "celery", "CM_ASSETS_CELERY_BROKER": redis_server.url,
           "CARBONMAPPER_API_URL": replica.api_url, "CARBONMAPPER_EMAIL": replica.email,
           "CARBONMAPPER_PASSWORD": replica.password,
           "CM_ASSETS_DATA_ROOT": str(tmp_path_factory.mktemp("celery-data")),
           # dagster-celery starts the `celery` command of this environment
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("CARBONMAPPER_TOKEN", None)
    return env


@pytest.fixture(scope="module")
def workers(celery_env, redis_server, tmp_path_factory) -> Iterator[list[subprocess.Popen]]:
    """Celery worker processes (one task at a time each), each in its own process group."""
    workdir = tmp_path_factory.mktemp("celery-workers")
    config = workdir / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": {
        "broker": redis_server.url, "backend": redis_server.url}}}))
    started: list[subprocess.Popen] = []
    try:
        for n in range(WORKERS):
            with open(workdir / f"worker{n}.log", "wb") as log:
                started.append(subprocess.Popen(
                    [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                     "-y", str(config), "-n", f"w{n}", "--", "--concurrency", "1"],
                    cwd=REPO_ROOT, env=celery_env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True))
        wait_for(lambda: all(_ready(workdir / f"worker{n}.log") for n in range(WORKERS)), 180,
                 "the Celery workers", interval=1.0)
        yield started
    finally:
        for process in started:
            stop_group(process, grace=10.0)


def _ready(log: Path) -> bool:
    return log.exists() and b"ready." in log.read_bytes()


def test_a_run_executes_its_steps_on_celery_workers(celery_env, workers, replica, postgres,
                                                    monkeypatch):
    day = pick_days(replica, count=1, low=1, high=2)[0]
    result = subprocess.run(
        [str(BIN / "dagster"), "job", "execute", "-m", "cm_assets.definitions", "-a", "defs",
         "-j", "refresh_all", "--tags", json.dumps({"dagster/partition": day, RUN_TAG: "1"})],
        cwd=REPO_ROOT, env=celery_env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.from_config(celery_env["DAGSTER_HOME"])
    (run,) = instance.get_runs(RunsFilter(tags={RUN_TAG: "1"}))
    assert run.status == DagsterRunStatus.SUCCESS
    starts = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_START).records
    steps = {r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid for r in starts}
    assert set(steps) >= {"plume_catalog", "plume_products", "scene_crops", "sources",
                          "source_stats", "warehouse"}, steps
    worker_pids = {p.pid for p in workers} | _descendants(workers)
    assert set(steps.values()) <= worker_pids, (steps, worker_pids)
    assert len(set(steps.values())) >= 2, "every step ran on the same worker"
    database = Path(celery_env["CM_ASSETS_DATA_ROOT"]) / "cm.duckdb"
    _, ((days,),) = run_query(database, "SELECT count(DISTINCT observation_day) FROM plumes")
    assert days == 1
    # a Celery pool worker may not start figure processes: its steps draw the pictures themselves
    _, rows = run_query(database, "SELECT plume_id, error, quicklook_png FROM plume_products")
    assert rows and all(error is None and Path(png).is_file() for _, error, png in rows), rows


def _descendants(processes: list[subprocess.Popen]) -> set[int]:
    """Pids of every process in the workers' process groups (Celery forks its pool children)."""
    groups = {p.pid for p in processes}
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) in groups:
                    found.add(int(entry.name))
            except ProcessLookupError:
                continue
    return found
