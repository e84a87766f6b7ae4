"""The deployment profile as separate processes: ``dagster-webserver`` and ``dagster-daemon run``
on one ``deploy/dagster.yaml`` instance (PostgreSQL), driven over GraphQL like ``dagster dev``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import requests

from cm_assets.processes import stop_group
from cm_assets_tests.e2e.stack import REPO_ROOT, REPOSITORY, DagsterDev, free_port, wait_for

DEPLOY_INSTANCE = REPO_ROOT / "deploy" / "dagster.yaml"
DEPLOY_WORKSPACE = REPO_ROOT / "deploy" / "workspace.yaml"
BIN = Path(sys.executable).parent


class DagsterDeployment(DagsterDev):
    """A code server, the webserver (started next, so that it creates the schema alone) and the
    daemon as three process groups; the GraphQL helpers of ``DagsterDev`` talk to the webserver."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        super().__init__(workdir, env)
        self.code_port = free_port()
        self.env.update({"CM_ASSETS_CODE_SERVER_HOST": "127.0.0.1",
                         "CM_ASSETS_CODE_SERVER_PORT": str(self.code_port)})
        self.daemon_log_path = workdir / "dagster-daemon.log"
        self.code_log_path = workdir / "code-server.log"
        self._daemon: subprocess.Popen | None = None
        self._code: subprocess.Popen | None = None

    def _spawn(self, args: list[str], log_path: Path) -> subprocess.Popen:
        with open(log_path, "wb") as log:
            return subprocess.Popen(args, cwd=REPO_ROOT, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

    def start(self, timeout: float = 180.0) -> DagsterDeployment:
        self.home.mkdir(parents=True, exist_ok=True)
        self.data_root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEPLOY_INSTANCE, self.home / "dagster.yaml")
        workspace = str(DEPLOY_WORKSPACE)
        try:
            self._code = self._spawn([str(BIN / "dagster"), "code-server", "start", "-m",
                                      "cm_assets.definitions", "-d", str(REPO_ROOT), "-h", "127.0.0.1",
                                      "-p", str(self.code_port), "--location-name", "cm_assets"],
                                     self.code_log_path)
            wait_for(self._code_server_ready, timeout, "the code server to load the code")
            self._proc = self._spawn([str(BIN / "dagster-webserver"), "-w", workspace,
                                      "-h", "127.0.0.1", "-p", str(self.port)], self.log_path)
            self.location = wait_for(self._loaded_location, timeout, "the webserver to load the code")
            self.stop_automation()
            self._daemon = self._spawn([str(BIN / "dagster-daemon"), "run", "-w", workspace],
                                       self.daemon_log_path)
            wait_for(self._daemon_healthy, timeout, "the daemon's heartbeats", interval=2.0)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            for process in (self._daemon, self._code):
                if process is not None:
                    stop_group(process, grace=10.0)
            self._daemon = self._code = None
        finally:
            super().stop()

    def _code_server_ready(self) -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        if self._code is not None and self._code.poll() is not None:
            raise RuntimeError(f"the code server exited:\n{self.code_log_path.read_text()[-3000:]}")
        try:
            DagsterGrpcClient(port=self.code_port, host="127.0.0.1").list_repositories()
        except Exception:  # noqa: BLE001 - not serving yet (connection refused, still loading)
            return False
        return True

    def daemon_log_tail(self, lines: int = 60) -> str:
        path = self.daemon_log_path
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _daemon_healthy(self) -> bool:
        if self._daemon is not None and self._daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited:\n{self.daemon_log_tail()}")
        statuses = self.graphql(DAEMON_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
        needed = {"QUEUED_RUN_COORDINATOR", "BACKFILL", "MONITORING"}
        return needed <= {s["daemonType"] for s in statuses if s["healthy"]}

    def stop_automation(self) -> None:
        """Stop every sensor and schedule before the daemon starts, so that only the runs a test
        launches use the API and the queue."""
        repository = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY}
        found = self.graphql(INSTIGATORS_QUERY, selector=repository)["repositoryOrError"]
        for sensor in found["sensors"]:
            result = self.graphql(STOP_SENSOR, id=sensor["id"])["stopSensor"]
            if result["__typename"] != "StopSensorMutationResult":
                raise RuntimeError(f"could not stop sensor {sensor['name']}: {result}")
        for schedule in found["schedules"]:
            self.stop_schedule(schedule["name"])

    # -- backfills and runs ----------------------------------------------------------------------

    def launch_backfill(self, job: str, partitions: list[str], run_config: dict,
                        tags: Mapping[str, str] | None = None, timeout: float = 600.0) -> str:
        """A job backfill of ``partitions``: one queued run per partition, all created by this
        call (synchronous submission), so that the daemon finds the whole backfill in its queue."""
        params = {"selector": {"partitionSetName": f"{job}_partition_set",
                               "repositorySelector": {"repositoryLocationName": self.location,
                                                      "repositoryName": REPOSITORY}},
                  "partitionNames": partitions, "runConfigData": run_config,
                  "forceSynchronousSubmission": True,
                  "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        response = requests.post(f"{self.url}/graphql", timeout=timeout,
                                 json={"query": LAUNCH_BACKFILL, "variables": {"params": params}})
        response.raise_for_status()
        result = response.json()["data"]["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {result}")
        return result["backfillId"]

    def run_timings(self, tags: Mapping[str, str]) -> list[dict]:
        """Runs with their status, start/end times and per-step start/end times."""
        run_filter = {"tags": [{"key": k, "value": v} for k, v in tags.items()]}
        return self.graphql(RUN_TIMINGS, filter=run_filter)["runsOrError"]["results"]


DAEMON_QUERY = """
query { instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"""

INSTIGATORS_QUERY = """
query ($selector: RepositorySelector!) { repositoryOrError(repositorySelector: $selector) {
  __typename ... on Repository { sensors { id name } schedules { name } } } }"""

STOP_SENSOR = """
mutation ($id: String) { stopSensor(id: $id) { __typename
  ... on PythonError { message } ... on UnauthorizedError { message } } }"""

LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId }
  ... on PythonError { message stack } ... on InvalidStepError { invalidStepKey }
  ... on PartitionSetNotFoundError { message } ... on InvalidSubsetError { message } } }"""

RUN_TIMINGS = """
query ($filter: RunsFilter) { runsOrError(filter: $filter) { __typename ... on Runs {
  results { runId status startTime endTime tags { key value }
    stepStats { stepKey status startTime endTime } } } } }"""
