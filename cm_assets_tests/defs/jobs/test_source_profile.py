"""``source_stats`` holds the seed's §4.2 profile, equal to a recomputation from the API."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.sql.query import run_query

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
