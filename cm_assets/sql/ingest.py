"""Incremental ingestion of the GeoParquet tables into native DuckDB tables.

Every table of ``TABLE_FILES`` is a native table under its own name (``plumes``, ``scene_crops``,
...), with exactly the columns of ``schema.TABLES``. ``ingest.manifest`` records the version
(size + mtime, or the object store's ETag) of every file ingested. A sync reads only the files
whose version changed and drops the rows of files that changed or disappeared: rows of a per-day
file ``day=D.parquet`` are the rows whose partition column (``PARTITION_COLUMN``) is D; a
single-file table is replaced whole. Rows and manifest change in the caller's transaction, so the
two never disagree, whatever killed an earlier run.

Only portable SQL is used (tables, DELETE, INSERT ... SELECT FROM read_parquet, views), on a
connection whose default catalog is the target: a local DuckDB file, or the shared DuckLake
(``lake``). R-tree indexes are created only on the local file (DuckLake has no indexes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb

from cm_assets.storage.layout import DAY_FILE, TABLE_FILES
from cm_assets.storage.store import Storage
from cm_assets.sql.db import ROW_GROUP_SIZE, literal
from cm_assets.sql.schema import TABLES, geometry_columns

META = "ingest"  # schema of the bookkeeping tables (manifest, layout)

# per-day tables: the column holding the day of the file a row comes from
PARTITION_COLUMN: dict[str, str] = {
    "plumes": "observation_day", "quarantine": "partition",
    "plume_products": "observation_day", "scene_crops": "observation_day",
}

# R-tree on the primary geometry: ST_Intersects/ST_Within against a constant geometry reads a few
# index nodes instead of testing every row (DuckDB uses it on the table, not through a view).
# Not on ``plumes``: its geometries are points whose box is the ``lon``/``lat`` columns, and a
# reader pays for loading the index on first touch of the table (~20 ms at 100k plumes, more than
# a box scan of the two columns costs), the writer for maintaining and re-serializing it.
RTREE_TABLES = ("plume_products", "scene_crops", "sources", "source_stats")

# rows of these single-file tables are stored in this order: the join of plume_sources with
# source_stats and the grouping by source then find each source's rows together (the benchmark's
# join query 83 -> 72 ms in a one-off A B on one file: docs/pipeline.md "Where a reader's time goes")
INSERT_ORDER: dict[str, str] = {"plume_sources": "source_name, plume_id", "source_stats": "source_name"}

# files read by one scan: bounds the writer's memory when a rebuild reads thousands of days
FILES_PER_SCAN = 500


@dataclass(frozen=True)
class TableChange:
    """What a sync did to one table."""

    ingested: int  # files (re)read
    dropped: int   # files whose old rows were deleted (replaced or gone)
    days: frozenset[str] = frozenset()  # days of those files (per-day tables)


def layout_version(*derived: str) -> str:
    """Hash of the stored layout (and of the SQL of the ``derived`` tables built from it): a file
    with another layout is rebuilt from scratch."""
    text = json.dumps([TABLES, TABLE_FILES, PARTITION_COLUMN, RTREE_TABLES, INSERT_ORDER, ROW_GROUP_SIZE, *derived],
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def has_current_layout(con, version: str) -> bool:
    """Whether the catalog of ``con`` was created by the layout ``version``."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                        "AND schema_name = ? AND table_name = 'meta'", [META]).fetchone()[0]
    if not found:
        return False
    stored = con.execute(f"SELECT value FROM {META}.meta WHERE key = 'layout'").fetchone()
    return stored is not None and stored[0] == version


def create_layout(con, version: str) -> None:
    """The empty tables and the bookkeeping tables (on an empty catalog); ``create_indexes`` once
    they are filled (a bulk-built R-tree is faster and smaller than one grown row by row)."""
    for table in TABLE_FILES:
        columns = ", ".join(f"{name} {kind}" for name, kind in TABLES[table].items())
        con.execute(f"CREATE TABLE {table} ({columns})")
    con.execute(f"CREATE SCHEMA {META}")
    con.execute(f"CREATE TABLE {META}.manifest (tbl VARCHAR, file VARCHAR, version VARCHAR)")
    con.execute(f"CREATE TABLE {META}.meta (key VARCHAR, value VARCHAR)")
    con.execute(f"INSERT INTO {META}.meta VALUES ('layout', ?)", [version])


def drop_layout(con) -> None:
    """Drop every view, table and the bookkeeping schema of the current catalog: a shared catalog
    of another layout is rebuilt in place (a native draft starts as a new empty file instead)."""
    for kind in ("view", "table"):
        found = con.execute(f"SELECT schema_name, {kind}_name FROM duckdb_{kind}s() "
                            "WHERE database_name = current_database() AND NOT internal").fetchall()
        for schema, name in found:
            con.execute(f'DROP {kind.upper()} "{schema}"."{name}"')
    con.execute(f"DROP SCHEMA IF EXISTS {META}")


def create_indexes(con) -> None:
    """The R-tree of every table of ``RTREE_TABLES`` (on its primary geometry)."""
    for table in RTREE_TABLES:
        column = geometry_columns(table)[0]
        con.execute(f"CREATE INDEX {table}_{column}_rtree ON {table} USING RTREE ({column})")


def file_day(uri: str) -> str:
    match = DAY_FILE.search(uri)
    if match is None:
        raise ValueError(f"not a per-day file: {uri}")
    return match.group(1)


def _drop_rows(con, table: str, files: list[str]) -> None:
    if table in PARTITION_COLUMN:
        days = [file_day(f) for f in files]
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, {PARTITION_COLUMN[table]})", [days])
    else:
        con.execute(f"DELETE FROM {table}")
    con.execute(f"DELETE FROM {META}.manifest WHERE tbl = ? AND list_contains(?, file)", [table, files])


#: start of DuckDB's message when a scan met a row filed under another day (raised by ``error()``)
_MISFILED = "cm_assets: "


def _load_rows(con, table: str, files: dict[str, str]) -> None:
    """Read ``files`` (uri -> version) in one scan; a row filed under another day than its file's
    aborts the insert (the caller's transaction then keeps nothing of it). The check is part of
    the one scan: a first scan just for it cost ~1.3 ms a file (5 s of a full-world rebuild)."""
    source = ("read_parquet([" + ", ".join(literal(f) for f in files) + "], union_by_name = true, "
              "filename = true)")
    refuse, order = "", f" ORDER BY {INSERT_ORDER[table]}" if table in INSERT_ORDER else ""
    if table in PARTITION_COLUMN:
        column = PARTITION_COLUMN[table]
        day = r"regexp_extract(filename, 'day=([0-9-]+)\.parquet$', 1)"
        shown = f"coalesce('''' || {column} || '''', 'None')"
        refuse = (f" WHERE CASE WHEN {column} IS DISTINCT FROM {day} THEN error('{_MISFILED}' || filename || "
                  f"' holds a row of {column} ' || {shown}) ELSE true END")
    try:
        con.execute(f"INSERT INTO {table} SELECT {', '.join(TABLES[table])} FROM {source}{refuse}{order}")
    except duckdb.InvalidInputException as error:
        message = str(error)
        if _MISFILED not in message:
            raise
        raise ValueError(message.split(_MISFILED, 1)[1]) from None
    con.execute(f"INSERT INTO {META}.manifest SELECT ?, unnest(?), unnest(?)",
                [table, list(files), list(files.values())])


def manifest(con, catalog: str | None = None) -> set[tuple[str, str, str]]:
    """(table, file, version) of every file ingested into ``catalog`` (default: the current one)."""
    prefix = f"{catalog}." if catalog else ""
    return set(con.execute(f"SELECT tbl, file, version FROM {prefix}{META}.manifest").fetchall())


def changes_between(before: set[tuple[str, str, str]], after: set[tuple[str, str, str]]) -> dict[str, TableChange]:
    """What turning manifest ``before`` into ``after`` re-read and dropped, per table."""
    def files(entries: set, table: str) -> set:
        return {(f, v) for t, f, v in entries if t == table}
    changes = {}
    for table in TABLE_FILES:
        old, new = files(before, table), files(after, table)
        changes[table] = TableChange(ingested=len(new - old),
                                     dropped=len({f for f, _ in old - new}))
    return changes


def sync_tables(con, storage: Storage) -> dict[str, TableChange]:
    """Bring every table up to date with the files under ``storage`` (call inside a transaction).
    Unchanged files are not read."""
    changes = {}
    for table, pattern in TABLE_FILES.items():
        on_disk = storage.fingerprints(pattern)
        known = dict(con.execute(f"SELECT file, version FROM {META}.manifest WHERE tbl = ?", [table]).fetchall())
        fresh = {f: v for f, v in on_disk.items() if known.get(f) != v}
        stale = [f for f in known if f not in on_disk or f in fresh]
        if stale:
            _drop_rows(con, table, stale)
        items = list(fresh.items())
        for start in range(0, len(items), FILES_PER_SCAN):
            _load_rows(con, table, dict(items[start:start + FILES_PER_SCAN]))
        days = frozenset(map(file_day, [*fresh, *stale])) if table in PARTITION_COLUMN else frozenset()
        changes[table] = TableChange(ingested=len(fresh), dropped=len(stale), days=days)
    return changes
