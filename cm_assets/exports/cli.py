"""``cm-assets export --format gpkg|fgb|geojson [--where SQL] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cm_assets.sql.cli import default_warehouse
from cm_assets.sql.lake import is_lake

#: --format choices (the drivers live in cm_assets.exports.gis, imported when the command runs).
FORMATS = ("fgb", "geojson", "gpkg")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    parser = commands.add_parser("export", help="write plumes, outlines, sources and crop footprints for GIS")
    parser.add_argument("--format", choices=FORMATS, default="gpkg")
    parser.add_argument("--where", help="SQL predicate on the plumes view, e.g. \"gas = 'CH4' AND emission_auto > 500\"")
    parser.add_argument("--out", type=Path, default=Path("exports"), help="output directory (default: exports)")
    parser.add_argument("--db", default=None, help="DuckDB file or ducklake:postgres:... target "
                                                   "(default: $CM_ASSETS_WAREHOUSE or data/cm.duckdb)")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from cm_assets.exports.gis import export

    database = args.db or default_warehouse()
    if not is_lake(database) and not Path(database).exists():
        print(f"no warehouse at {database}: run `cm-assets demo` or materialize `warehouse` first", file=sys.stderr)
        return 1
    try:
        written = export(database, args.out, args.format, args.where)
    except Exception as error:  # a bad --where is a DuckDB error: show the message, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    for layer, (path, rows) in written.items():
        print(f"{layer:<16} {rows:>7} rows  {path}")
    return 0
