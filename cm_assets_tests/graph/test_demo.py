"""``cm-assets demo``: its own replica, one run over the last days, a DuckDB summary, replica stopped."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance

from cm_assets.cli import main


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args and "pytest" not in args:
            found.append(args)
    return found


def test_demo_runs_the_graph_and_stops_its_replica(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CM_ASSETS_WAREHOUSE", raising=False)
    monkeypatch.setenv("CM_ASSETS_DATA_ROOT", "elsewhere")
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
    assert (root / "cm.duckdb").exists()
    # the run is recorded in the instance `make dev` opens, so the UI shows its materializations
    runs = DagsterInstance.from_config(str(home)).get_runs()
    assert len(runs) == 1 and runs[0].is_success
    assert not _processes_mentioning(str(root / "replica"))
    assert os.environ["CM_ASSETS_DATA_ROOT"] == "elsewhere"  # the demo restores the environment
    assert main(["sql", "--db", str(root / "cm.duckdb"), "SELECT count(*) AS n FROM plumes_enriched"]) == 0
