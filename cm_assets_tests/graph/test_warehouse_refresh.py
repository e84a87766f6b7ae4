"""Incremental warehouse refresh: only changed files re-read, one transaction, atomic publication,
readers never blocked (a reader process loops while the writer refreshes)."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cm_assets.storage.layout import catalog_day, quarantine_day
from cm_assets.storage.store import Storage
from cm_assets.warehouse.db import connect
from cm_assets.warehouse.refresh import refresh_warehouse
from cm_assets.warehouse.snapshot import next_snapshot
from cm_assets.warehouse.sql import run_query
from cm_assets_tests.graph.samples import catalog, payload
from cm_assets_tests.graph.warehouse_reader import read_loop

SUFFIXES = "ABCDEFGH"


def write_day(store: Storage, day: str, plumes: int, malformed: int = 0) -> None:
    good = [payload(s, day=day) for s in SUFFIXES[:plumes]]
    bad = [payload(s, day=day, gas=None) for s in "ZY"[:malformed]]
    frame, quarantined = catalog(day, good + bad)
    store.write_parquet(frame, catalog_day(day))
    if malformed:
        store.write_parquet(quarantined, quarantine_day(day))
    else:
        store.remove(quarantine_day(day))


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
        from cm_assets.warehouse.db import connect
        from cm_assets.warehouse.snapshot import next_snapshot
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


def test_bbox_queries_use_the_rtree_index(tmp_path):
    store, database = Storage(str(tmp_path)), tmp_path / "cm.duckdb"
    write_day(store, "2026-10-01", 3)
    refresh_warehouse(database, store)
    query = "SELECT count(*) FROM plumes WHERE ST_Intersects(geometry, ST_MakeEnvelope(-104.5, 31.5, -103, 32.5))"
    plan = "\n".join(row[1] for row in run_query(database, "EXPLAIN " + query)[1])
    assert "RTREE_INDEX_SCAN" in plan
    assert run_query(database, query)[1] == [(3,)]
    outside = query.replace("-104.5, 31.5, -103, 32.5", "10, 10, 11, 11")
    assert run_query(database, outside)[1] == [(0,)]
    # a radius: the box by the index in a subquery, the distance outside it
    radius = ("SELECT count(*) FROM (SELECT * FROM plumes WHERE ST_Intersects(geometry, "
              "ST_MakeEnvelope(-104.5, 31.5, -103.3, 32.5))) "
              "WHERE ST_Distance_Sphere(ST_FlipCoordinates(geometry), ST_Point(32.0, -103.9)) < {}")
    plan = "\n".join(row[1] for row in run_query(database, "EXPLAIN " + radius.format(50000))[1])
    assert "RTREE_INDEX_SCAN" in plan
    assert run_query(database, radius.format(50000))[1] == [(3,)]
    assert run_query(database, radius.format(7000))[1] == [(3,)]
    assert run_query(database, radius.format(6000))[1] == [(0,)]  # the sample plumes are 6.7 km away


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
