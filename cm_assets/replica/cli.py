"""``cm-assets replica serve``: run the local Carbon Mapper API replica until SIGTERM/SIGINT.

When both origins listen, one JSON line ``{"api_url", "cdn_url", "admin_url", "stac_url"}`` is
printed to stdout (``--port 0`` / ``--cdn-port 0`` pick free ports).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from types import FrameType

from cm_assets.replica.clock import parse_instant


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within [0, 1]")
    return value


def _scale(text: str) -> str:
    if text in ("tiny", "demo", "full") or (text.isdigit() and int(text) > 0):
        return text
    raise argparse.ArgumentTypeError("tiny, demo, full or a positive integer")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``replica serve`` to the top-level parser."""
    replica = subparsers.add_parser("replica", help="local Carbon Mapper API replica")
    commands = replica.add_subparsers(dest="replica_command", required=True)
    serve = commands.add_parser("serve", help="serve the replica (API + signed CDN)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700, help="API port (0 = any free port)")
    serve.add_argument("--cdn-port", type=int, default=8701, help="CDN port (0 = any free)")
    serve.add_argument("--data-dir", type=Path, default=Path("data/replica"))
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--scale", type=_scale, default="tiny",
                       help="tiny (1,500 plumes), demo (6,000), full (100,000) or a count")
    serve.add_argument("--end", type=date.fromisoformat, default=None,
                       help="last observation day YYYY-MM-DD (default: today UTC)")
    serve.add_argument("--clock-start", type=parse_instant, default=None,
                       help="replica clock start, ISO-8601 (default: wall clock now)")
    serve.add_argument("--rate-limit", type=int, default=0, help="requests per window (0=off)")
    serve.add_argument("--rate-window", type=float, default=60.0, help="window seconds")
    serve.add_argument("--fault-5xx-rate", type=_probability, default=0.0)
    serve.add_argument("--slow-rate", type=_probability, default=0.0)
    serve.add_argument("--slow-ms", type=int, default=0)
    serve.add_argument("--truncate-rate", type=_probability, default=0.0)
    serve.add_argument("--fault-seed", type=int, default=0)
    serve.add_argument("--token-lifetime", type=int, default=604800, help="access token s")
    serve.add_argument("--cdn-url-lifetime", type=int, default=3600, help="signed URL s")
    serve.add_argument("--drift-version", default=None, metavar="VERSION",
                       help="serve the newest version family (v3e) under this label, e.g. v3f")
    serve.add_argument("--drift-cmf-type", default=None, metavar="CMF",
                       help="CH4 cmf type of the newest version family's collections, e.g. mfma")
    serve.add_argument("--drift-extra-field", action="append", default=[], metavar="NAME",
                       help="add this field to every plume record (repeatable)")
    serve.add_argument("--drift-drop-field", action="append", default=[], metavar="NAME",
                       help="remove this field from every plume record (repeatable)")
    serve.add_argument("--exit-with-parent", type=int, default=None, metavar="PID",
                       help="stop when process PID is gone (a killed test runner leaves no replica)")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Build the world, listen, print the ready line, and block until a stop signal."""
    from cm_assets.replica.app import ServeConfig, build
    from cm_assets.replica.drift import Drift
    from cm_assets.replica.server import ReplicaServer

    try:
        drift = Drift(args.drift_version, args.drift_cmf_type, tuple(args.drift_extra_field),
                      tuple(args.drift_drop_field))
    except ValueError as exc:
        print(f"replica: {exc}", file=sys.stderr)
        return 2
    config = ServeConfig(
        data_dir=args.data_dir, host=args.host, port=args.port, cdn_port=args.cdn_port,
        seed=args.seed, scale=args.scale, end=args.end, clock_start=args.clock_start,
        rate_limit=args.rate_limit, rate_window=args.rate_window,
        fault_5xx_rate=args.fault_5xx_rate, slow_rate=args.slow_rate, slow_ms=args.slow_ms,
        truncate_rate=args.truncate_rate, fault_seed=args.fault_seed,
        token_lifetime=args.token_lifetime, cdn_url_lifetime=args.cdn_url_lifetime,
        drift=drift)
    try:
        server = ReplicaServer(config.host, config.port, config.cdn_port,
                               lambda api_url, cdn_url: build(config, api_url, cdn_url))
    except OSError as exc:
        print(f"replica: cannot listen: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(json.dumps({"api_url": server.api_url, "cdn_url": server.cdn_url,
                      "admin_url": server.admin_url, "stac_url": f"{server.api_url}/stac/"}),
          flush=True)
    while not stop.wait(0.2):
        if args.exit_with_parent is not None and not _alive(args.exit_with_parent):
            break
    server.stop()
    return 0
