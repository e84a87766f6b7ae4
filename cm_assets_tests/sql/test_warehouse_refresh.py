"""Incremental warehouse refresh: only changed files re-read, one transaction, atomic publication,
readers never blocked (a reader process loops while the writer refreshes)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import geopandas as gpd
import pandas as pd
import pytest

from cm_assets.storage.layout import PLUME_SOURCES, SOURCES, catalog_day
from cm_assets.storage.store import Storage
from cm_assets.sql import query
from cm_assets.sql.db import connect, load_spatial
from cm_assets.sql.ingest import RTREE_TABLES
from cm_assets.sql.refresh import refresh_warehouse
from cm_assets.sql.schema import conform
from cm_assets.sql.snapshot import next_snapshot, standby_path
from cm_assets.sql.views import ENRICHED_SELECT
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.samples import catalog, payload, write_day
from cm_assets_tests.helpers.warehouse_reader import hold, read_loop

def plumes_by_day(database) -> dict[str, int]:
    return dict(run_query(database, "SELECT observation_day, count(*) FROM plumes GROUP BY 1")[1])


def test_only_changed_files_are_read_and_removed_days_disappear(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    for day, n in {"2026-10-01": 2, "2026-10-02": 1, "2026-10-03": 3}.items():
        write_day(store, day, n)
    first = refresh_warehouse(database, store)
    assert first.rebuilt and first.changes["plumes"].ingested == 3 and first.counts["plumes"] == 6

    same = refresh_warehouse(database, store)
    assert not same.rebuilt and same.changes["plumes"].ingested == 0 and same.counts["plumes"] == 6

    write_day(store, "2026-10-02", 4, malformed=1)   # a day re-materialized with other rows
    changed = refresh_warehouse(database, store)
    assert (changed.changes["plumes"].ingested, changed.changes["plumes"].dropped) == (1, 1)
    assert changed.changes["quarantine"].ingested == 1
    assert plumes_by_day(database) == {"2026-10-01": 2, "2026-10-02": 4, "2026-10-03": 3}

    store.remove(catalog_day("2026-10-03"))
    write_day(store, "2026-10-02", 4)                 # its quarantine file goes away
    gone = refresh_warehouse(database, store)
    assert gone.changes["plumes"].dropped == 2 and gone.changes["quarantine"].dropped == 1
    assert plumes_by_day(database) == {"2026-10-01": 2, "2026-10-02": 4}
    assert gone.counts["quarantine"] == 0


def test_a_new_layout_rebuilds_from_the_files(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 2)
    refresh_warehouse(database, store)
    con = connect(database)
    con.execute("UPDATE ingest.meta SET value = 'older' WHERE key = 'layout'")
    con.execute("DELETE FROM plumes")  # whatever an older layout held is not trusted
    con.close()
    again = refresh_warehouse(database, store)
    assert again.rebuilt and again.counts["plumes"] == 2
    # the standby now holds the older layout: the next writer copies the published file instead
    write_day(store, "2026-10-02", 1)
    after = refresh_warehouse(database, store)
    assert not after.rebuilt and after.counts["plumes"] == 3 and after.changes["plumes"].ingested == 1


def test_a_failed_refresh_publishes_nothing(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 2)
    refresh_warehouse(database, store)
    before = database.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with next_snapshot(database) as draft:
            con = connect(draft)
            con.execute("DELETE FROM plumes")
            con.close()
            raise RuntimeError("boom")
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".cm")) == []


def test_a_killed_writer_leaves_the_published_file_and_its_draft_is_cleaned(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 2)
    refresh_warehouse(database, store)
    script = textwrap.dedent(f"""
        import os, signal
        from cm_assets.sql.db import connect
        from cm_assets.sql.snapshot import next_snapshot
        with next_snapshot({str(database)!r}) as draft:
            con = connect(draft)
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM plumes")
            con.execute("COMMIT")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert [p for p in tmp_path.iterdir() if ".draft" in p.name], "the dead writer left its draft"
    assert run_query(database, "SELECT count(*) FROM plumes")[1] == [(2,)]
    write_day(store, "2026-10-02", 1)
    assert refresh_warehouse(database, store).counts["plumes"] == 3
    assert not [p for p in tmp_path.iterdir() if ".draft" in p.name]


def write_sources(store: Storage, attributed: dict[str, str]) -> None:
    """One source (a point next to the sample plumes) and the plume -> source attribution."""
    point = gpd.GeoSeries.from_xy([-103.9], [32.0], crs="EPSG:4326")
    store.write_parquet(conform(gpd.GeoDataFrame({"source_name": ["CH4_1B2_100m_-103.9_32.0"], "gas": ["CH4"],
                                                  "lon": [-103.9], "lat": [32.0]}, geometry=point), "sources"),
                        SOURCES)
    store.write_parquet(conform(pd.DataFrame({"plume_id": list(attributed), "source_name": list(attributed.values()),
                                              "distance_m": [100.0] * len(attributed)}), "plume_sources"),
                        PLUME_SOURCES)


def test_box_queries_read_lon_lat_on_plumes_and_the_rtree_elsewhere(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 3)
    write_sources(store, {})
    refresh_warehouse(database, store)
    indexes = {row[0] for row in run_query(database, "SELECT table_name FROM duckdb_indexes()")[1]}
    assert indexes == set(RTREE_TABLES) and "plumes" not in indexes  # points: lon/lat are their box
    box = "SELECT count(*) FROM plumes WHERE lon BETWEEN {} AND {} AND lat BETWEEN {} AND {}"
    assert run_query(database, box.format(-104.5, -103, 31.5, 32.5))[1] == [(3,)]
    assert run_query(database, box.format(10, 11, 10, 11))[1] == [(0,)]
    radius = (box.format(-104.5, -103.3, 31.5, 32.5)
              + " AND ST_Distance_Sphere(ST_Point(lat, lon), ST_Point(32.0, -103.9)) < {}")
    assert run_query(database, radius.format(7000))[1] == [(3,)]
    assert run_query(database, radius.format(6000))[1] == [(0,)]  # the sample plumes are 6.7 km away
    # the geometry predicate still answers on plumes (a scan), and walks the R-tree of sources
    exact = "SELECT count(*) FROM {} WHERE ST_Intersects(geometry, ST_MakeEnvelope(-104.5, 31.5, -103, 32.5))"
    assert run_query(database, exact.format("plumes"))[1] == [(3,)]
    plan = "\n".join(row[1] for row in run_query(database, "EXPLAIN " + exact.format("sources"))[1])
    assert "RTREE_INDEX_SCAN" in plan
    assert run_query(database, exact.format("sources"))[1] == [(1,)]


def test_spatial_is_loaded_only_for_queries_that_call_it(tmp_path, monkeypatch):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 1)
    refresh_warehouse(database, store)
    loads = []
    monkeypatch.setattr(query, "load_spatial", lambda con: (loads.append(1), load_spatial(con)))  # a spy
    assert run_query(database, "SELECT ST_AsText(geometry), count(*) FROM plumes GROUP BY 1")[1] == [
        ("POINT (-103.9 32.06)", 1)]  # GEOMETRY and its WKT/WKB functions are DuckDB's core
    assert loads == []
    assert run_query(database, "SELECT ST_X(geometry) FROM plumes")[1] == [(-103.9,)]
    assert loads == [1]
    with pytest.raises(duckdb.CatalogException, match="no_such_function"):
        run_query(database, "SELECT no_such_function(1)")
    assert loads == [1]


def test_plume_sources_are_stored_by_source_whatever_the_files_order(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    attributed = {f"tan20261001t18162{i}c77s4001-A": f"CH4_1B2_100m_-103.9_32.{9 - i}" for i in range(6)}
    write_sources(store, attributed)  # in the file: plume order, sources descending
    refresh_warehouse(database, store)
    stored = [name for (name,) in run_query(database, "SELECT source_name FROM plume_sources ORDER BY rowid")[1]]
    assert stored == sorted(attributed.values()) != list(attributed.values())


def enriched_drift(database) -> int:
    """Rows in which the table plumes_enriched and its defining query differ (both ways)."""
    query = f"""SELECT count(*) FROM (
        (SELECT * EXCLUDE (geometry, outline) FROM plumes_enriched EXCEPT ALL
         SELECT * EXCLUDE (geometry, outline) FROM ({ENRICHED_SELECT}))
        UNION ALL
        (SELECT * EXCLUDE (geometry, outline) FROM ({ENRICHED_SELECT}) EXCEPT ALL
         SELECT * EXCLUDE (geometry, outline) FROM plumes_enriched))"""
    return run_query(database, query)[1][0][0]


def test_plumes_enriched_follows_every_change(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    for day, n in {"2026-10-01": 2, "2026-10-02": 3}.items():
        write_day(store, day, n)
    write_sources(store, {"tan20261001t181625c77s4001-A": "CH4_1B2_100m_-103.9_32.0"})
    assert refresh_warehouse(database, store).counts["plumes_enriched"] == 5
    steps = [
        lambda: write_day(store, "2026-10-02", 1),                         # a day replaced
        lambda: store.remove(catalog_day("2026-10-01")),                  # a day removed
        lambda: write_day(store, "2026-10-03", 4),                         # a day added
        lambda: write_sources(store, {"tan20261003t181625c77s4001-B": "CH4_1B2_100m_-103.9_32.0"}),
        lambda: None,                                                      # nothing changed
    ]
    for step in steps:
        step()
        done = refresh_warehouse(database, store)
        assert done.counts["plumes_enriched"] == done.counts["plumes"]
        assert enriched_drift(database) == 0
    assert run_query(database, "SELECT plume_id FROM plumes_enriched WHERE source_name IS NOT NULL")[1] == [
        ("tan20261003t181625c77s4001-B",)]


def inode(path) -> int:
    return os.stat(path).st_ino


def test_the_writer_updates_the_standby_unless_a_reader_holds_it(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 2)
    refresh_warehouse(database, store)
    write_day(store, "2026-10-02", 1)
    refresh_warehouse(database, store)                   # the first publication becomes the standby
    standby = standby_path(database)
    previous, retired = inode(standby), inode(database)
    write_day(store, "2026-10-03", 1)
    done = refresh_warehouse(database, store)
    assert inode(database) == previous and inode(standby) == retired  # updated in place, no copy
    # one refresh behind, the standby re-read two days; the refresh reports what changed since
    # the last publication: one day
    assert done.changes["plumes"].ingested == 1 and done.counts["plumes"] == 4

    # a long reader (another process: POSIX locks belong to a process) of this publication...
    spawn = multiprocessing.get_context("spawn")
    ready, release, out = spawn.Event(), spawn.Event(), spawn.Queue()
    reader = spawn.Process(target=hold, args=(str(database), ready, release, out))
    reader.start()
    try:
        assert ready.wait(timeout=120)
        write_day(store, "2026-10-04", 1)
        refresh_warehouse(database, store)               # ...which is now the standby
        held = inode(standby)
        write_day(store, "2026-10-05", 1)
        again = refresh_warehouse(database, store)       # the standby is held: a copy instead
        assert inode(database) != held and again.counts["plumes"] == 6
        release.set()
        assert out.get(timeout=120) == (4, 4)            # its snapshot, intact
    finally:
        release.set()
        reader.join(timeout=60)
    assert plumes_by_day(database) == {"2026-10-01": 2, "2026-10-02": 1, "2026-10-03": 1,
                                       "2026-10-04": 1, "2026-10-05": 1}


def test_readers_are_never_blocked_during_20_refreshes(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 3)
    states = {0: (3 + 2, 0), 1: (3 + 6, 2)}  # (plumes, quarantine) of the two alternating states
    write_day(store, "2026-10-02", 2)
    refresh_warehouse(database, store)

    spawn = multiprocessing.get_context("spawn")
    stop, reads, out = spawn.Event(), spawn.Value("i", 0), spawn.Queue()
    reader = spawn.Process(target=read_loop, args=(str(database), stop, reads, out))
    reader.start()
    try:
        while reads.value < 1 and reader.is_alive():
            time.sleep(0.01)
        for refresh in range(20):
            state = (refresh + 1) % 2
            write_day(store, "2026-10-02", 2 if state == 0 else 6, malformed=2 * state)
            start = reads.value
            done = refresh_warehouse(database, store)
            assert (done.counts["plumes"], done.counts["quarantine"]) == states[state]
            while reads.value < start + 1 and reader.is_alive():  # a read between two refreshes
                time.sleep(0.01)
        stop.set()
        seen, errors = out.get(timeout=120)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert errors == []
    assert len(seen) >= 20
    assert set(seen) == set(states.values())  # only whole states, and both of them


def test_a_remote_data_root_is_read_through_fsspec(tmp_path):
    store = Storage(f"memory://cm-assets-{tmp_path.name}")
    write_day(store, "2026-10-01", 3)
    database = tmp_path / "cm.duckdb"
    assert refresh_warehouse(database, store).counts["plumes"] == 3
    write_day(store, "2026-10-01", 1)
    again = refresh_warehouse(database, store)
    assert (again.changes["plumes"].ingested, again.counts["plumes"]) == (1, 1)


def test_rows_filed_under_another_day_are_refused_and_nothing_is_published(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 2)
    refresh_warehouse(database, store)
    frame, _ = catalog("2026-10-02", [payload("A", day="2026-10-02")])
    store.write_parquet(frame, catalog_day("2026-10-03"))  # a file whose rows say another day
    with pytest.raises(ValueError, match="day=2026-10-03.parquet holds a row of observation_day '2026-10-02'"):
        refresh_warehouse(database, store)
    assert plumes_by_day(database) == {"2026-10-01": 2}


def test_the_writer_reads_files_without_keeping_them_in_duckdbs_file_cache(tmp_path):
    from cm_assets.sql.refresh import _writer

    con = _writer(tmp_path / "draft.duckdb")
    try:  # each file is read once: caching its blocks cost a full-world rebuild seconds (see ingest_settings)
        assert con.execute("SELECT current_setting('enable_external_file_cache')").fetchone() == (False,)
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("244.1 MiB")
    finally:
        con.close()
