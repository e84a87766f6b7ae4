"""Steps shared by the e2e tests and the latency bench: waiting for runs, reading the warehouse."""

from __future__ import annotations

from collections.abc import Callable

import requests

from cm_assets.defs.automation import AUTOMATION_TRIGGER
from cm_assets.defs.execution import TRIGGER_TAG
from cm_assets.replica.process import ReplicaProcess
from cm_assets.sql.db import connect
from cm_assets_tests.e2e.stack import DagsterDev, wait_for

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
RUN_TIMEOUT = 420.0


def finished_runs(dev: DagsterDev, trigger: str, count: int, timeout: float) -> list[dict]:
    """Wait until at least ``count`` runs with this trigger exist and all ended; fail on a failed run."""
    def ready() -> list[dict] | None:
        runs = dev.runs({TRIGGER_TAG: trigger})
        return runs if len(runs) >= count and all(r["status"] in TERMINAL for r in runs) else None

    runs = wait_for(ready, timeout, f"{count} finished {trigger} run(s)", interval=2.0)
    failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
    assert not failed, f"runs failed: {failed}\n{dev.log_tail()}"
    return runs


def first_cursor_tick(dev: DagsterDev, sensor: str, timeout: float = 120.0) -> dict:
    """The oldest tick of ``sensor`` that stored a cursor."""
    def tick() -> dict | None:
        with_cursor = [t for t in dev.sensor_ticks(sensor, limit=100) if t["cursor"]]
        return with_cursor[-1] if with_cursor else None

    return wait_for(tick, timeout, f"a tick of {sensor}")


def ticks_after(dev: DagsterDev, sensor: str, since: float, count: int, timeout: float) -> list[dict]:
    """Wait for ``count`` ticks of ``sensor`` that started after ``since`` (epoch seconds)."""
    def later() -> list[dict] | None:
        ticks = [t for t in dev.sensor_ticks(sensor, limit=50) if t["timestamp"] > since]
        return ticks if len(ticks) >= count else None

    return wait_for(later, timeout, f"{count} new tick(s) of {sensor}")


def query_warehouse(dev: DagsterDev, sql: str, params: list | None = None) -> list[tuple]:
    """Rows from the DuckDB warehouse, opened read-only (waits while the writer holds the file)."""
    con = connect(dev.data_root / "cm.duckdb", read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def settled_warehouse(dev: DagsterDev, sql: str, params: list | None, ready: Callable[[list[tuple]], bool],
                      timeout: float = RUN_TIMEOUT) -> list[tuple]:
    """Rows of ``sql`` once ``ready(rows)``: the sensors' runs materialize days only, and the
    warehouse follows in a run the automation sensor requests after them; fails on a failed one."""
    def rows() -> list[tuple] | None:
        failed = [r["runId"] for r in dev.runs({TRIGGER_TAG: AUTOMATION_TRIGGER}) if r["status"] == "FAILURE"]
        assert not failed, f"automation runs failed: {failed}\n{dev.log_tail()}"
        if not (dev.data_root / "cm.duckdb").exists():
            return None
        found = query_warehouse(dev, sql, params)
        return found if ready(found) else None

    return wait_for(rows, timeout, f"the warehouse to show: {sql}", interval=2.0)


def advance_clock(replica: ReplicaProcess, seconds: float) -> str:
    response = requests.post(f"{replica.admin_url}/clock", json={"advance_seconds": seconds}, timeout=30)
    response.raise_for_status()
    return response.json()["now"]


def reprocess(replica: ReplicaProcess, plume_id: str) -> dict:
    response = requests.post(f"{replica.admin_url}/reprocess", json={"plume_id": plume_id}, timeout=30)
    response.raise_for_status()
    return response.json()
