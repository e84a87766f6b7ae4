"""``cm-assets plume`` and ``cm-assets source`` against the replica: real HTTP, real PNG files."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from cm_assets.cli import main
from cm_assets.reports import plots
from cm_assets_tests.reports.pngs import assert_figure, assert_timeline, load_png

FIGURE_INCHES = {"four_panel.png": (12, 3.6), "l2b_context.png": (15, 5.2), "l3a_vs_l2b.png": (10, 9)}


def full_size(name: str) -> tuple[int, int]:
    width, height = FIGURE_INCHES[name]
    return round(width * plots.FULL_DPI), round(height * plots.FULL_DPI)


def test_plume_command_writes_the_three_figures_full_size(cli_env, published_plume, capsys):
    assert main(["plume", published_plume.plume_id]) == 0
    printed = capsys.readouterr().out
    out = cli_env / "reports" / "plumes" / published_plume.plume_id
    for name in FIGURE_INCHES:
        assert str(out / name) in printed
        assert_figure(out / name, full_size(name))
    summary = (out / "plume.md").read_text()
    assert published_plume.plume_id in summary and "![l2b_context](l2b_context.png)" in summary
    assert "fetched from the API" in printed
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_plume_command_honours_out_and_context_scale(cli_env, published_plume, tmp_path, capsys):
    """A wider context window reads more pixels of the scene (the report says how many)."""
    pixels = {}
    for scale in (2, 6):
        out = tmp_path / f"scale{scale}"
        assert main(["plume", published_plume.plume_id, "--out", str(out), "--context-scale", str(scale)]) == 0
        assert_figure(out / "l2b_context.png", full_size("l2b_context.png"))
        printed = capsys.readouterr().out
        assert str(out / "l2b_context.png") in printed
        width, height = map(int, re.search(r"l2b_context: (\d+) x (\d+) px", printed).groups())
        pixels[scale] = width * height
    assert not (cli_env / "reports").exists()
    assert pixels[6] > 4 * pixels[2]


def test_plume_command_rejects_an_unknown_plume(cli_env, capsys):
    assert main(["plume", "tan20990101t000000c00s0000-Z"]) == 1
    err = capsys.readouterr().err
    assert "tan20990101t000000c00s0000-Z" in err and "Traceback" not in err
    assert not (cli_env / "reports").exists()


def test_source_command_writes_profile_and_timeline(cli_env, client, busy_source, capsys):
    assert main(["source", busy_source.source_name]) == 0
    printed = capsys.readouterr().out
    out = cli_env / "reports" / "sources" / busy_source.source_name
    assert str(out / "timeline.png") in printed
    detail = client.get_source(busy_source.source_name)
    instruments = {str(p.instrument or "") for p in detail.plumes
                   if p.emission_auto is not None and p.scene_timestamp is not None}
    assert_timeline(out / "timeline.png", (round(10 * plots.FULL_DPI), round(3.8 * plots.FULL_DPI)),
                    series=len(instruments))
    profile = json.loads((out / "profile.json").read_text())
    emissions = pd.Series([p.emission_auto for p in detail.plumes], dtype=float).dropna()
    assert profile["detections"] == len(detail.plumes)
    assert profile["with_emission"] == len(emissions)
    assert profile["emission_mean"] == pytest.approx(emissions.mean())
    assert profile["emission_std"] == pytest.approx(emissions.std())
    assert profile["emission_p99"] == pytest.approx(emissions.quantile(0.99))
    assert profile["cm_persistence"] == pytest.approx(detail.persistence)
    assert sum(profile["sensor_mix"].values()) == len(detail.plumes)
    table = (out / "profile.md").read_text()
    for label in ("emission mean", "emission std", "emission min", "emission p99", "with emission",
                  "distinct days", "sensor mix", "persistence", "site emission"):
        assert label in table
    detections = pd.read_csv(out / "detections.csv")
    assert set(detections["plume_id"]) == {p.plume_id for p in detail.plumes}
    assert load_png(out / "timeline.png").shape[2] in (3, 4)


def test_source_command_rejects_an_unknown_source(cli_env, capsys):
    assert main(["source", "CH4_1B2_500m_0.00000_0.00000"]) == 1
    assert "CH4_1B2_500m_0.00000_0.00000" in capsys.readouterr().err


def test_replica_flag_starts_the_local_replica_for_the_command(cli_env, monkeypatch, capsys):
    """``--replica`` needs no API settings: it starts the replica under the data root and logs in."""
    from cm_assets.carbonmapper import CarbonMapperClient
    from cm_assets.replica.process import ReplicaProcess

    for name in ("CARBONMAPPER_API_URL", "CARBONMAPPER_EMAIL", "CARBONMAPPER_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(cli_env.parent))  # no credentials file either
    with ReplicaProcess(cli_env / "replica", scale="tiny") as replica, \
            CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        source = max(client.list_sources(), key=lambda s: s.plume_count or 0).source_name
    assert main(["source", source, "--replica", "--replica-scale", "tiny"]) == 0
    assert (cli_env / "reports" / "sources" / source / "timeline.png").exists()
    assert str(cli_env / "reports" / "sources" / source) in capsys.readouterr().out


def test_cli_parser_stays_light_and_in_step_with_the_libraries():
    """Every `cm-assets` command builds the parser: the rendering and GIS stacks load on use only."""
    import subprocess
    import sys

    from cm_assets.exports import cli as exports_cli, gis
    from cm_assets.reports import cli as reports_cli, plume

    code = ("import sys, cm_assets.cli; heavy = {'matplotlib', 'geopandas', 'pyogrio', 'rasterio'} & set(sys.modules); "
            "sys.exit(','.join(sorted(heavy)) or None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (reports_cli.DEFAULT_PAD_PX, reports_cli.DEFAULT_CONTEXT_SCALE) == (plume.DEFAULT_PAD_PX,
                                                                               plume.DEFAULT_CONTEXT_SCALE)
    assert set(exports_cli.FORMATS) == set(gis.FORMATS)
