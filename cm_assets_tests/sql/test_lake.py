"""The shared-warehouse code without servers: its settings (no secret accepted or echoed) and its
refresh on a DuckLake whose catalog is a local DuckDB file (the PostgreSQL + S3 profile is tested
in ``cm_assets_tests/deploy/test_shared_warehouse.py``)."""

from __future__ import annotations

import pyogrio
import pytest

from cm_assets.cli import main
from cm_assets.storage.store import Storage
from cm_assets.sql import lake_refresh
from cm_assets.sql.lake import Lake, LakeConfigError, connect_lake, s3_secret_sql
from cm_assets.sql.lake_refresh import refresh_lake
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.samples import write_day

SECRET = "s3cr3t-value"


@pytest.mark.fast
@pytest.mark.parametrize("target", [
    f"ducklake:postgres:host=db dbname=lake user=u password={SECRET}",
    f"ducklake:postgres:host=db PASSWORD = {SECRET} dbname=lake",
    f"ducklake:postgres:postgresql://u:{SECRET}@db/lake",
])
def test_a_password_in_the_target_is_refused_without_echoing_it(target):
    with pytest.raises(LakeConfigError, match="PGPASSWORD") as error:
        Lake.parse(target)
    assert SECRET not in str(error.value)


@pytest.mark.fast
def test_targets_and_s3_secret():
    lake = Lake.parse("ducklake:postgres:host=db port=5432 dbname=lake user=u", "s3://bucket/lake/")
    assert (lake.catalog, lake.data_path, lake.on_postgres) == ("postgres:host=db port=5432 dbname=lake user=u",
                                                                "s3://bucket/lake/", True)
    with pytest.raises(LakeConfigError):
        Lake.parse("/srv/cm.duckdb")
    assert s3_secret_sql({}) is None
    sql = s3_secret_sql({"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "it's",
                         "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
    assert "SECRET 'it''s'" in sql and "ENDPOINT '127.0.0.1:9000'" in sql and "USE_SSL false" in sql


@pytest.mark.fast
def test_an_unusable_s3_secret_is_reported_without_its_values(tmp_path):
    lake = Lake.parse(f"ducklake:{tmp_path / 'catalog.ducklake'}", str(tmp_path / "files"))
    with pytest.raises(LakeConfigError, match="values not shown") as error:
        connect_lake(lake, read_only=False, spatial=False,
                     env={"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": SECRET + "\x00"})
    assert SECRET not in str(error.value) and error.value.__cause__ is None and error.value.__context__ is None


def test_a_local_lake_is_refreshed_incrementally_one_snapshot_per_refresh(tmp_path, monkeypatch):
    store = Storage(str(tmp_path / "data"))
    lake = Lake.parse(f"ducklake:{tmp_path / 'catalog.ducklake'}", str(tmp_path / "files"))
    for day, n in {"2026-10-01": 2, "2026-10-02": 1}.items():
        write_day(store, day, n)
    first = refresh_lake(lake, store)
    assert first.rebuilt and first.counts["plumes"] == first.counts["plumes_enriched"] == 3

    def snapshots() -> int:
        return run_query(lake.target, "SELECT count(*) FROM lake.snapshots()")[1][0][0]

    before = snapshots()
    write_day(store, "2026-10-02", 4, malformed=1)
    changed = refresh_lake(lake, store)
    assert not changed.rebuilt and changed.counts["plumes"] == 6 and changed.counts["quarantine"] == 1
    assert {t: (c.ingested, c.dropped) for t, c in changed.changes.items() if c.ingested or c.dropped} == \
        {"plumes": (1, 1), "quarantine": (1, 0)}
    assert snapshots() == before + 1
    assert dict(run_query(lake.target, "SELECT observation_day, count(*) FROM plumes GROUP BY 1")[1]) == \
        {"2026-10-01": 2, "2026-10-02": 4}

    monkeypatch.setattr(lake_refresh, "LAYOUT", "another-layout")  # the code's layout changed: rebuilt
    again = refresh_lake(lake, store)
    assert again.rebuilt and again.counts["plumes"] == 6


def test_sql_and_export_read_a_lake(tmp_path, capsys):
    store = Storage(str(tmp_path / "data"))
    lake = Lake.parse(f"ducklake:{tmp_path / 'catalog.ducklake'}", str(tmp_path / "files"))
    write_day(store, "2026-10-01", 3)
    refresh_lake(lake, store)
    assert main(["sql", "--db", lake.target, "SELECT count(*) AS n FROM plumes"]) == 0
    assert "3" in [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert main(["export", "--format", "geojson", "--db", lake.target, "--out", str(tmp_path / "out")]) == 0
    frame = pyogrio.read_dataframe(tmp_path / "out" / "plumes.geojson")
    assert len(frame) == 3 and frame.crs == "EPSG:4326"
