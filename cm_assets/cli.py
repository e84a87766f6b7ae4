"""The ``cm-assets`` command line: ``replica serve``, ``demo``, ``sql``, ``dev``, ``plume``, ``source``, ``export``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cm_assets import dev
from cm_assets.exports import cli as exports_cli
from cm_assets.replica import cli as replica_cli
from cm_assets.reports import cli as reports_cli
from cm_assets.warehouse import cli as warehouse_cli


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each area registers its own sub-commands."""
    parser = argparse.ArgumentParser(prog="cm-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    replica_cli.register(commands)
    warehouse_cli.register(commands)
    dev.register(commands)
    reports_cli.register(commands)
    exports_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; each sub-command sets ``func(args) -> exit code``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
