"""Read-only SQL against the warehouse, printed as a plain-text table."""

from __future__ import annotations

import os

import duckdb

from cm_assets.sql.db import connect, load_spatial, needs_spatial
from cm_assets.sql.lake import Lake, connect_lake, is_lake


def connect_read_only(database: str | os.PathLike, spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse ``database``: a DuckDB file, or a ``ducklake:``
    target (the shared warehouse, attached read-only)."""
    if is_lake(database):
        return connect_lake(Lake.parse(str(database)), read_only=True, spatial=spatial)
    return connect(database, read_only=True, spatial=spatial)


def run_query(database: str | os.PathLike, query: str,
              params: list | None = None) -> tuple[list[str], list[tuple]]:
    """Run ``query`` (with ``?`` ``params``) on a read-only connection. Spatial is loaded only when
    the query calls one of its functions: DuckDB refuses such a function while binding, then the
    query runs again with spatial loaded (harmless: a read-only connection changes nothing), so
    other queries do not pay for loading it. ``database``: as for :func:`connect_read_only`."""
    con = connect_read_only(database, spatial=False)
    try:
        try:
            cursor = con.execute(query, params) if params is not None else con.execute(query)
        except duckdb.CatalogException as error:
            if not needs_spatial(error):
                raise
            load_spatial(con)
            cursor = con.execute(query, params) if params is not None else con.execute(query)
        if cursor.description is None:
            return [], []
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    finally:
        con.close()


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_table(columns: list[str], rows: list[tuple], max_rows: int = 200) -> str:
    """A fixed-width table with a row count footer."""
    cells = [[_cell(v) for v in row] for row in rows[:max_rows]]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = lambda values: " | ".join(v.ljust(w) for v, w in zip(values, widths))  # noqa: E731
    out = [line(columns), "-+-".join("-" * w for w in widths), *(line(r) for r in cells)]
    more = f" (first {max_rows} shown)" if len(rows) > max_rows else ""
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})")
    return "\n".join(out)
