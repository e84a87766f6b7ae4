"""Warehouse connections: files attached with the warehouse's row-group size, under the name
``duckdb.connect`` would give them."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from cm_assets.sql.db import ROW_GROUP_SIZE, connect, literal

pytestmark = pytest.mark.fast


def _row_groups(con, table: str) -> int:
    return con.execute(f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info({literal(table)})").fetchone()[0]


def test_a_written_table_is_cut_into_row_groups_of_the_warehouse_size(tmp_path):
    path = tmp_path / "cm.duckdb"
    rows = 2 * ROW_GROUP_SIZE + 1
    con = connect(path, spatial=False)
    con.execute(f"CREATE TABLE t AS SELECT range AS i FROM range({rows})")
    con.close()

    reader = connect(path, read_only=True, spatial=False)
    try:
        assert _row_groups(reader, "t") == 3
        # the reader attaches with the same size: DuckDB plans one scan thread per row group of it
        options, readonly = reader.execute("SELECT options, readonly FROM duckdb_databases() "
                                           "WHERE database_name = current_database()").fetchone()
        assert options["row_group_size"] == str(ROW_GROUP_SIZE) and readonly
        assert reader.execute("SELECT count(*), sum(i) FROM t").fetchone() == (rows, rows * (rows - 1) // 2)
    finally:
        reader.close()
    # a plain DuckDB open reads the same file (with its default row-group size)
    plain = duckdb.connect(str(path), read_only=True)
    assert plain.execute("SELECT count(*) FROM t").fetchone()[0] == rows
    plain.close()


def test_the_file_is_the_default_catalog_under_its_stem(tmp_path):
    for name, alias in (("warehouse.duckdb", "warehouse"), ("memory.duckdb", "memory_db"),
                        ("it's.duckdb", "it's")):
        con = connect(tmp_path / name, spatial=False)
        try:
            con.execute("CREATE TABLE t (i INTEGER)")
            assert con.execute("SELECT current_database()").fetchone()[0] == alias
            assert con.execute("SELECT database_name FROM duckdb_tables() WHERE table_name = 't'").fetchall() == [(alias,)]
        finally:
            con.close()


def test_a_read_only_connection_refuses_writes_to_the_file(tmp_path):
    path = tmp_path / "cm.duckdb"
    connect(path, spatial=False).close()
    reader = connect(path, read_only=True, spatial=False)
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("CREATE TABLE t (i INTEGER)")
    finally:
        reader.close()


def test_a_missing_file_is_an_error_for_a_reader(tmp_path):
    with pytest.raises(duckdb.IOException):
        connect(tmp_path / "missing.duckdb", read_only=True, spatial=False)
    assert not (tmp_path / "missing.duckdb").exists()


def _locked_seen_from_another_process(path) -> bool:
    """The writer's probe, run in another process (in this one, opening and closing the file to
    probe it would itself drop this process's locks)."""
    probe = f"from pathlib import Path; from cm_assets.sql.snapshot import _in_use; print(_in_use(Path({str(path)!r})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip() == "True"


def test_a_reader_closing_keeps_the_file_locked_for_another_reader_of_its_process(tmp_path):
    """DuckDB's reader lock is a POSIX record lock, which closing any descriptor of the file in the
    process drops: two readers of one file share one open file, so the writer still sees the
    file in use while the other reader reads it."""
    path = tmp_path / "cm.duckdb"
    connect(path, spatial=False).close()
    held = connect(path, read_only=True, spatial=False)
    try:
        other = connect(path, read_only=True, spatial=False)
        other.close()
        assert _locked_seen_from_another_process(path)
        assert held.execute("SELECT current_database()").fetchone()[0] == "cm"
    finally:
        held.close()
    assert not _locked_seen_from_another_process(path)
