"""``cm-assets plume <plume_id>`` and ``cm-assets source <source_name>``: figures on demand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cm_assets.storage import layout
from cm_assets.sql.cli import default_warehouse

# Kept in step with cm_assets.reports.plume (imported only when a command runs: the rendering
# stack is heavy, and every `cm-assets` command builds this parser).
DEFAULT_PAD_PX = 64
DEFAULT_CONTEXT_SCALE = 4.0


def local_root() -> Path:
    """The data root, which must be a local path here."""
    root = os.environ.get("CM_ASSETS_DATA_ROOT", "data")
    if "://" in root:
        raise ValueError(f"the data root {root} is remote: give --out DIR")
    return Path(root)


@contextmanager
def api_client(args: argparse.Namespace) -> Iterator:
    """The configured API (environment or credentials file), or with ``--replica`` a local
    replica (same world as ``cm-assets demo``) started for this command, with its demo account."""
    from cm_assets.carbonmapper import CarbonMapperClient

    if not args.replica:
        with CarbonMapperClient.from_env() as client:
            yield client
        return
    from cm_assets.replica.process import ReplicaProcess

    root = Path(os.environ.get("CM_ASSETS_DATA_ROOT", "data"))
    with ReplicaProcess(root / "replica", scale=args.replica_scale) as replica, \
            CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        yield client


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replica", action="store_true",
                        help="start the local replica (the `cm-assets demo` world) for this command")
    parser.add_argument("--replica-scale", default="demo", help="world size with --replica (tiny|demo|full|N)")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``plume`` and ``source`` sub-commands."""
    plume = commands.add_parser("plume", help="figures of one plume: four-panel, L2B context, L3A vs L2B")
    plume.add_argument("plume_id", help="colloquial plume id (e.g. tan20260405t172750c72s4001-A) or UUID")
    plume.add_argument("--out", type=Path, help="output directory (default: <data root>/reports/plumes/<id>)")
    plume.add_argument("--pad-px", type=int, default=DEFAULT_PAD_PX, help="context pixels of the L2B crops")
    plume.add_argument("--context-scale", type=float, default=DEFAULT_CONTEXT_SCALE,
                       help="width of the L2B context window, in multiples of the outline's bounds")
    _add_common(plume)
    plume.set_defaults(func=run_plume)

    source = commands.add_parser("source", help="profile table and emission timeline of one source")
    source.add_argument("source_name", help="e.g. CH4_1B2_500m_-103.93835_32.06406")
    source.add_argument("--out", type=Path, help="output directory (default: <data root>/reports/sources/<name>)")
    _add_common(source)
    source.set_defaults(func=run_source)


def run_plume(args: argparse.Namespace) -> int:
    from cm_assets.carbonmapper.errors import PlumeNotFound
    from cm_assets.reports.plume import plume_report

    def make():
        out = args.out or local_root() / layout.report_dir("plumes", args.plume_id)
        with api_client(args) as client:
            return plume_report(client, args.plume_id, out, warehouse=Path(default_warehouse()),
                                pad_px=args.pad_px, context_scale=args.context_scale)

    return _print_report(make, PlumeNotFound, f"no plume {args.plume_id!r}")


def run_source(args: argparse.Namespace) -> int:
    from cm_assets.carbonmapper.errors import SourceNotFound
    from cm_assets.reports.source import source_report

    def make():
        out = args.out or local_root() / layout.report_dir("sources", args.source_name)
        with api_client(args) as client:
            return source_report(client, args.source_name, out)[0]

    return _print_report(make, SourceNotFound, f"no source {args.source_name!r}")


def _print_report(make, missing: type[Exception], missing_message: str) -> int:
    """Build a report and print where its files are; a clear one-line error (exit 1) otherwise."""
    from cm_assets.carbonmapper.errors import CarbonMapperError

    try:
        report = make()
    except missing:
        print(f"error: {missing_message}", file=sys.stderr)
        return 1
    except (CarbonMapperError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0
