"""Warehouse views over purpose-made GeoParquet: empty typed views, spatial SQL, read-only CLI."""

from __future__ import annotations

import pytest

from cm_assets.cli import main
from cm_assets.storage.layout import catalog_day, quarantine_day
from cm_assets.defs.api_watch.history import HISTORY_COLUMNS
from cm_assets.storage.store import Storage
from cm_assets.sql.db import connect
from cm_assets.sql.ingest import TABLE_FILES
from cm_assets.sql.refresh import refresh_warehouse
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.samples import catalog, payload

pytestmark = pytest.mark.fast


def test_views_exist_and_are_empty_without_files(tmp_path):
    database = tmp_path / "cm.duckdb"
    done = refresh_warehouse(database, Storage(str(tmp_path)))
    assert done.rebuilt and set(TABLE_FILES) <= set(done.counts) and not any(done.counts.values())
    con = connect(database, read_only=True)
    # empty views keep their types, so joins and spatial functions still bind
    con.execute("SELECT ST_AsText(geometry), emission_auto + 1, source_name FROM plumes_enriched").fetchall()
    history = [row[0] for row in con.execute("DESCRIBE plume_history").fetchall()]
    assert history == list(HISTORY_COLUMNS)
    con.close()


def test_views_read_the_partitions_and_sql_cli_is_read_only(tmp_path, capsys):
    store = Storage(str(tmp_path))
    for day, suffixes in {"2026-10-01": "AB", "2026-10-02": "C"}.items():
        frame, bad = catalog(day, [payload(s, day=day) for s in suffixes] + [payload("Z", day=day, gas=None)])
        store.write_parquet(frame, catalog_day(day))
        store.write_parquet(bad, quarantine_day(day))
    database = tmp_path / "cm.duckdb"
    counts = refresh_warehouse(database, store).counts
    assert counts["plumes"] == 3 and counts["quarantine"] == 2 and counts["plumes_enriched"] == 3
    columns, rows = run_query(database, "SELECT observation_day, count(*), "
                                        "round(min(ST_X(geometry)), 2) FROM plumes GROUP BY 1 ORDER BY 1")
    assert rows == [("2026-10-01", 2, -103.9), ("2026-10-02", 1, -103.9)]

    assert main(["sql", "--db", str(database), "SELECT plume_id, reason FROM quarantine ORDER BY 1"]) == 0
    out = capsys.readouterr().out
    assert "tan20261001t181625c77s4001-Z" in out and "(2 rows)" in out
    query_file = tmp_path / "q.sql"
    query_file.write_text("SELECT count(*) AS n FROM plumes_enriched")
    assert main(["sql", "--db", str(database), "--file", str(query_file)]) == 0
    assert "3" in capsys.readouterr().out
    # read-only: writes are refused
    assert main(["sql", "--db", str(database), "CREATE TABLE x AS SELECT 1"]) == 1
    assert "read-only" in capsys.readouterr().err.lower()
