"""The ``plume_report`` / ``source_report`` jobs, and reports reusing a materialized day."""

from __future__ import annotations

import base64
import re

import pytest
from dagster import DagsterInstance

from cm_assets.cli import main
from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import StorageResource
from cm_assets.reports import plots
from cm_assets_tests.helpers.graph import client_resource
from cm_assets_tests.reports.pngs import PNG_SIGNATURE, assert_figure

EMBEDDED = re.compile(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


@pytest.fixture(scope="module")
def materialized(replica, published_plume, tmp_path_factory):
    """The data root after ``refresh_days`` ran for the published plume's day (warehouse included)."""
    root = tmp_path_factory.mktemp("materialized")
    defs = build_definitions(client_resource(replica), StorageResource(root=str(root)))
    day = published_plume.scene_timestamp.strftime("%Y-%m-%d")
    result = defs.resolve_job_def("refresh_days").execute_in_process(
        partition_key=day, instance=DagsterInstance.ephemeral())
    assert result.success
    return defs, root


def _report_metadata(defs, job: str, op_name: str, config: dict) -> dict:
    """Run the report ``job`` with ``config`` for its op; the op's output metadata."""
    result = defs.resolve_job_def(job).execute_in_process(
        run_config={"ops": {op_name: {"config": config}}}, instance=DagsterInstance.ephemeral())
    assert result.success
    [event] = [e for e in result.events_for_node(op_name) if e.event_type_value == "STEP_OUTPUT"]
    return event.step_output_data.metadata


def test_plume_report_job_shows_the_figures_and_reuses_stored_products(materialized, published_plume):
    defs, root = materialized
    metadata = _report_metadata(defs, "plume_report", "plume_figures", {"plume_id": published_plume.plume_id})
    out = root / "reports" / "plumes" / published_plume.plume_id
    for name in ("four_panel", "l2b_context", "l3a_vs_l2b"):
        assert metadata[f"{name}_path"].value == str(out / f"{name}.png")
        [encoded] = EMBEDDED.findall(metadata[name].value)
        assert base64.b64decode(encoded)[:8] == PNG_SIGNATURE
    inputs = metadata["inputs"].value
    assert inputs["products"] == inputs["crops"] == "reused from the data root"
    assert "l2b_context" in inputs  # the context window is always read from the scene
    assert_figure(out / "four_panel.png", (round(12 * plots.FULL_DPI), round(3.6 * plots.FULL_DPI)))


def test_plume_command_reuses_the_data_root(materialized, published_plume, cli_env, monkeypatch, capsys):
    _defs, root = materialized
    monkeypatch.setenv("CM_ASSETS_DATA_ROOT", str(root))
    assert main(["plume", published_plume.plume_id]) == 0
    printed = capsys.readouterr().out
    assert "products: reused from the data root" in printed and "crops: reused from the data root" in printed
    assert main(["plume", published_plume.plume_id, "--pad-px", "8", "--out", str(cli_env / "p8")]) == 0
    assert "crops: windowed reads of" in capsys.readouterr().out  # stored crops have another pad


def test_source_report_job_shows_the_profile(materialized, busy_source):
    defs, root = materialized
    metadata = _report_metadata(defs, "source_report", "source_figures", {"source_name": busy_source.source_name})
    assert "emission p99" in metadata["profile"].value
    assert EMBEDDED.search(metadata["timeline"].value)
    assert (root / "reports" / "sources" / busy_source.source_name / "timeline.png").exists()
