"""``cm-assets demo``: its own replica, one run over the last days, a DuckDB summary, replica stopped."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance

from cm_assets.cli import main
from cm_assets_tests.helpers.processes import processes_mentioning


USER_ENV = {"CM_ASSETS_DATA_ROOT": "elsewhere", "CARBONMAPPER_API_URL": "http://127.0.0.1:9/api/v1",
            "CARBONMAPPER_TOKEN": "a-token-of-the-user-not-for-the-replica",
            "CARBONMAPPER_EMAIL": "someone@example.org", "CARBONMAPPER_PASSWORD": "not-the-demo-password"}


def test_demo_runs_the_graph_and_stops_its_replica(tmp_path, capsys, monkeypatch):
    """The demo hands its replica and data root to the resources; the user's own settings (another API,
    another account, another data root) neither leak into it nor get changed; the summary reads the
    warehouse file the storage resource chose (here ``CM_ASSETS_WAREHOUSE``)."""
    for name, value in USER_ENV.items():
        monkeypatch.setenv(name, value)
    warehouse = tmp_path / "warehouse" / "demo.duckdb"
    warehouse.parent.mkdir()
    monkeypatch.setenv("CM_ASSETS_WAREHOUSE", str(warehouse))
    home = tmp_path / "dagster-home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    root = tmp_path / "demo-root"
    assert main(["demo", "--days", "3", "--scale", "tiny", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    for title in ("Plumes per instrument", "Top sources by site emission (per gas)", "Deferred scenes",
                  "Quarantined records", "Products and crops"):
        assert f"== {title} ==" in out
    assert "success" in out
    assert warehouse.exists() and not (root / "cm.duckdb").exists()
    # the run is recorded in the instance `make dev` opens, so the UI shows its materializations
    runs = DagsterInstance.from_config(str(home)).get_runs()
    assert len(runs) == 1 and runs[0].is_success
    assert not processes_mentioning(str(root / "replica"))
    assert {name: os.environ.get(name) for name in USER_ENV} == USER_ENV
    assert not Path("elsewhere").exists()
    assert main(["sql", "--db", str(warehouse), "SELECT count(*) AS n FROM plumes_enriched"]) == 0
