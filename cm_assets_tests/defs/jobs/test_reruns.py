"""Reruns replace a partition exactly; partitions run in parallel processes without DuckDB locks."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import DagsterInstance

from cm_assets.cli import main as cli_main
from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import StorageResource
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.graph import client_resource, pick_days


def test_rerun_replaces_the_partition_without_duplicates(built, replica):
    day = built.days[0]
    before = built.store.read_parquet(f"catalog/day={day}.parquet")
    _, (total_before,) = run_query(built.database, "SELECT count(*) FROM plumes")
    defs = build_definitions(client_resource(replica), StorageResource(root=str(built.root)))
    result = defs.resolve_job_def("refresh_days").execute_in_process(
        partition_key=day, instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    after = built.store.read_parquet(f"catalog/day={day}.parquet")
    assert sorted(after["plume_id"]) == sorted(before["plume_id"])
    _, (total_after,) = run_query(built.database, "SELECT count(*) FROM plumes")
    assert total_after == total_before
    _, dupes = run_query(built.database, "SELECT plume_id FROM plumes GROUP BY 1 HAVING count(*) > 1")
    assert dupes == []
    unique = [e for e in result.get_asset_check_evaluations() if e.check_name == "unique_plume_ids"]
    assert unique and unique[0].passed
    assert not list(built.root.rglob("*.tmp")), "temporary files left behind"


def test_parallel_partition_runs_share_the_warehouse(replica, tmp_path):
    days = pick_days(replica, count=2, low=1, high=6)
    env = {**os.environ, "CARBONMAPPER_API_URL": replica.api_url, "CARBONMAPPER_EMAIL": replica.email,
           "CARBONMAPPER_PASSWORD": replica.password, "CM_ASSETS_DATA_ROOT": str(tmp_path)}
    env.pop("CARBONMAPPER_TOKEN", None)
    runs = [subprocess.Popen([sys.executable, "-m", "cm_assets_tests.defs.jobs.run_day", day], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for day in days]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-3000:]
        assert "Could not set lock" not in output
    _, rows = run_query(tmp_path / "cm.duckdb", "SELECT DISTINCT observation_day FROM plumes ORDER BY 1")
    assert [r[0] for r in rows] == days


def test_sql_command_reads_the_built_warehouse(built, capsys):
    assert cli_main(["sql", "--db", str(built.database),
                     "SELECT instrument, count(*) AS plumes FROM plumes GROUP BY 1 ORDER BY 1"]) == 0
    out = capsys.readouterr().out
    assert "instrument" in out and "row" in out
