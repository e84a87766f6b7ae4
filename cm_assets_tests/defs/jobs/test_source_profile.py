"""``source_stats`` holds the seed's §4.2 profile, equal to a recomputation from the API, and draws a
source's timeline only when its data changed."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from dagster import materialize

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.defs.resources import StorageResource
from cm_assets.defs.sources.assets import source_stats
from cm_assets.reports import plots
from cm_assets.sql.query import run_query
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.graph import client_resource

PROFILE = ["source_name", "detections", "with_emission", "distinct_days", "emission_mean", "emission_std",
           "emission_min", "emission_median", "emission_p90", "emission_p99", "emission_max",
           "cm_persistence", "site_emission", "persistence_recomputed", "first_detection", "last_detection",
           "sensor_mix"]


def test_source_stats_profile_matches_the_source_detail(built, replica):
    columns, rows = run_query(built.database, f"SELECT {', '.join(PROFILE)} FROM source_stats")
    table = pd.DataFrame(rows, columns=columns)
    assert len(table)
    client = CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)
    for row in table.head(3).itertuples():
        detail = client.get_source(row.source_name)
        emissions = pd.Series([p.emission_auto for p in detail.plumes], dtype=float).dropna()
        assert row.detections == len(detail.plumes) and row.with_emission == len(emissions)
        if len(emissions):
            assert row.emission_mean == pytest.approx(emissions.mean())
            assert row.emission_min == pytest.approx(emissions.min())
            assert row.emission_p99 == pytest.approx(emissions.quantile(0.99))
            assert row.emission_min <= row.emission_median <= row.emission_p90 <= row.emission_p99 <= row.emission_max
        if len(emissions) > 1:
            assert row.emission_std == pytest.approx(emissions.std())
        assert row.cm_persistence == pytest.approx(detail.persistence)
        times = pd.to_datetime(pd.Series([p.scene_timestamp for p in detail.plumes]), utc=True)
        assert row.distinct_days == times.dt.strftime("%Y-%m-%d").nunique()
        assert (pd.Timestamp(row.first_detection), pd.Timestamp(row.last_detection)) == (times.min(), times.max())
        mix = pd.Series([str(p.instrument) for p in detail.plumes]).value_counts()
        assert json.loads(row.sensor_mix) == mix.to_dict()


def test_unchanged_timelines_are_not_drawn_again(built, replica, tmp_path, monkeypatch):
    """A second source_stats over the same data reuses every stored timeline; a source whose picture
    is gone or whose recorded key differs is drawn again; every row's timeline is on disk."""
    root = tmp_path / "root"
    shutil.copytree(built.root, root)
    drawn: list[str] = []
    draw = plots.source_timeline
    monkeypatch.setattr(plots, "source_timeline", lambda name, *args: drawn.append(name) or draw(name, *args))

    def run() -> pd.DataFrame:
        drawn.clear()
        assert materialize([source_stats], resources={"carbonmapper": client_resource(replica),
                                                      "storage": StorageResource(root=str(root))},
                           run_config={"ops": {"source_stats": {"config": {"figure_workers": 0}}}}).success
        return Storage(str(root)).read_parquet(layout.SOURCE_STATS)

    table = run()
    assert len(table) > 2 and drawn == []
    keys_file = root / layout.TIMELINE_KEYS
    keys = json.loads(keys_file.read_text())
    gone, changed = table["source_name"].iloc[0], table["source_name"].iloc[1]
    (root / layout.source_timeline_png(gone)).unlink()
    keys_file.write_text(json.dumps({**keys, changed: "another"}))
    table = run()
    assert sorted(drawn) == sorted([gone, changed])
    assert table["timeline_png"].map(lambda p: open(p, "rb").read(4) == b"\x89PNG").all()
    assert json.loads(keys_file.read_text()) == keys
