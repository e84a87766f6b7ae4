"""Real processes for end-to-end runs: ``dagster dev`` in its own process group, driven over GraphQL.

Used by the e2e tests and ``bench/freshness_latency.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests

from cm_assets.dev import dagster_dev_command
from cm_assets.processes import stop_group

REPO_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "__repository__"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 1.0) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class DagsterDev:
    """``dagster dev -w workspace.yaml`` with its own DAGSTER_HOME, data root and free port."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        self.home = workdir / "dagster_home"
        self.data_root = workdir / "data"
        self.log_path = workdir / "dagster-dev.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(self.home),
                    "CM_ASSETS_DATA_ROOT": str(self.data_root)}
        self.location = ""
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 300.0) -> DagsterDev:
        self.home.mkdir(parents=True, exist_ok=True)
        self.data_root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / "dagster.yaml", self.home / "dagster.yaml")
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                dagster_dev_command(REPO_ROOT / "workspace.yaml", self.port), cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.location = wait_for(self._loaded_location, timeout, "dagster dev to load the code")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_group(self._proc, grace=10.0)
            self._proc = None

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, **variables: Any) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                                 timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def _loaded_location(self) -> str | None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {self._proc.returncode}:\n{self.log_tail()}")
        try:
            data = self.graphql(WORKSPACE_QUERY)
        except (requests.RequestException, RuntimeError, ValueError):
            return None
        for entry in data["workspaceOrError"].get("locationEntries", []):
            located = entry.get("locationOrLoadError") or {}
            if located.get("__typename") == "PythonError":
                raise RuntimeError(f"code location failed to load: {located['message']}")
            if entry["loadStatus"] == "LOADED" and located.get("__typename") == "RepositoryLocation":
                return entry["name"]
        return None

    # -- queries -------------------------------------------------------------------------------

    def sensor_ticks(self, name: str, limit: int = 20) -> list[dict]:
        """Latest ticks of sensor ``name``, newest first (status, cursor, timestamp, runIds)."""
        selector = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY,
                    "sensorName": name}
        data = self.graphql(SENSOR_QUERY, selector=selector, limit=limit)["sensorOrError"]
        if data["__typename"] != "Sensor":
            raise RuntimeError(f"sensor {name}: {data}")
        return data["sensorState"]["ticks"]

    def stop_schedule(self, name: str) -> None:
        """Turn a schedule off (so wall-clock cron times cannot add runs during a test)."""
        selector = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY,
                    "scheduleName": name}
        schedule_id = self.graphql(SCHEDULE_ID_QUERY, selector=selector)["scheduleOrError"]["id"]
        result = self.graphql(STOP_SCHEDULE_MUTATION, id=schedule_id)["stopRunningSchedule"]
        if result["__typename"] != "ScheduleStateResult":
            raise RuntimeError(f"could not stop schedule {name}: {result}")

    def runs(self, tags: Mapping[str, str] | None = None) -> list[dict]:
        """Runs (runId, status, tags as a dict), filtered by tags."""
        run_filter = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        results = self.graphql(RUNS_QUERY, filter=run_filter)["runsOrError"]["results"]
        return [{**run, "tags": {t["key"]: t["value"] for t in run["tags"]}} for run in results]

    def latest_materialization(self, asset: str, partition: str | None = None) -> dict | None:
        """The newest materialization of ``asset`` (optionally one partition) with its metadata."""
        partitions = [partition] if partition else None
        data = self.graphql(MATERIALIZATION_QUERY, key={"path": [asset]}, partitions=partitions)
        events = data["assetOrError"].get("assetMaterializations") or []
        return events[0] if events else None


WORKSPACE_QUERY = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

SENSOR_QUERY = """
query ($selector: SensorSelector!, $limit: Int) { sensorOrError(sensorSelector: $selector) {
  __typename ... on Sensor { sensorState { status ticks(limit: $limit) {
    status cursor timestamp runIds skipReason error { message } } } }
  ... on PythonError { message } } }"""

SCHEDULE_ID_QUERY = """
query ($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
  __typename ... on Schedule { id } } }"""

STOP_SCHEDULE_MUTATION = """
mutation ($id: String) { stopRunningSchedule(id: $id) { __typename
  ... on PythonError { message } ... on UnauthorizedError { message } } }"""

RUNS_QUERY = """
query ($filter: RunsFilter) { runsOrError(filter: $filter) { __typename ... on Runs {
  results { runId status tags { key value } } } } }"""

MATERIALIZATION_QUERY = """
query ($key: AssetKeyInput!, $partitions: [String!]) { assetOrError(assetKey: $key) {
  __typename ... on Asset { assetMaterializations(partitions: $partitions, limit: 1) {
    runId partition timestamp metadataEntries { __typename label
      ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue }
      ... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr }
      ... on PathMetadataEntry { path } ... on JsonMetadataEntry { jsonString } } } } } }"""
