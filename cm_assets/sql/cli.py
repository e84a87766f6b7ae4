"""``cm-assets sql``: read-only SQL on the warehouse."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cm_assets.storage import layout
from cm_assets.sql.lake import is_lake
from cm_assets.sql.query import format_table, run_query


def default_warehouse() -> str:
    if os.environ.get("CM_ASSETS_WAREHOUSE"):
        return os.environ["CM_ASSETS_WAREHOUSE"]
    return str(Path(os.environ.get("CM_ASSETS_DATA_ROOT", "data")) / layout.WAREHOUSE)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``sql`` sub-command."""
    sql = commands.add_parser("sql", help="run read-only SQL against the DuckDB warehouse")
    sql.add_argument("query", nargs="?", help="SQL text (or use --file)")
    sql.add_argument("--file", type=Path, help="file holding the SQL")
    sql.add_argument("--db", default=None, help="DuckDB file or ducklake:postgres:... target "
                                                "(default: $CM_ASSETS_WAREHOUSE or data/cm.duckdb)")
    sql.add_argument("--max-rows", type=int, default=200)
    sql.set_defaults(func=run_sql)


def run_sql(args: argparse.Namespace) -> int:
    if args.file is not None:
        query = args.file.read_text()
    elif args.query:
        query = args.query
    else:
        print("give a query or --file", file=sys.stderr)
        return 2
    database = args.db or default_warehouse()
    if not is_lake(database) and not Path(database).exists():
        print(f"no warehouse at {database}: run `cm-assets demo` or materialize `warehouse` first",
              file=sys.stderr)
        return 1
    try:
        columns, rows = run_query(database, query)
    except Exception as error:  # duckdb errors: show the message, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_table(columns, rows, args.max_rows) if columns else "OK")
    return 0

