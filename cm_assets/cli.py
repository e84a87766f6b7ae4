"""The ``cm-assets`` command line: ``replica serve``, ``demo``, ``sql``, ``dev``, ``plume``, ``source``, ``export``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cm_assets import dev
from cm_assets.exports import cli as exports_cli
from cm_assets.replica import cli as replica_cli
from cm_assets.reports import cli as reports_cli
from cm_assets.sql import cli as warehouse_cli


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each area registers its own sub-commands."""
    parser = argparse.ArgumentParser(
        prog="cm-assets", description="Carbon Mapper plume data as a Dagster asset graph: the local API "
        "replica, the demo run, SQL on the warehouse, the Dagster UI, plume and source reports, GIS exports.")
    commands = parser.add_subparsers(dest="command", required=True)
    replica_cli.register(commands)
    warehouse_cli.register(commands)
    register_demo(commands)
    dev.register(commands)
    reports_cli.register(commands)
    exports_cli.register(commands)
    return parser


def register_demo(commands: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command (Dagster is imported only when it runs)."""
    demo = commands.add_parser("demo", help="start the replica, materialize the graph, print a summary")
    demo.add_argument("--days", type=int, default=30,
                      help="how many observation days (ending --until-days-ago before the replica's today)")
    demo.add_argument("--scale", default="demo", help="replica world size (tiny|demo|full|N)")
    demo.add_argument("--data-root", default=os.environ.get("CM_ASSETS_DATA_ROOT", "data"))
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--until-days-ago", type=int, default=60,
                      help="end the window this many days before the replica's today (0 = newest days, "
                           "whose L2B scenes are mostly not published yet)")
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from cm_assets.demo import run

    return run(days=args.days, scale=args.scale, data_root=args.data_root, seed=args.seed,
               until_days_ago=args.until_days_ago)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; each sub-command sets ``func(args) -> exit code``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
