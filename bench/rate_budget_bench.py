"""Benchmark of backfills against a rate-limited API: how much of the allowed request rate they use,
and whether concurrent runs sharing one request budget stay clear of 429s.

A demo-world replica is started with ``--rate-limit LIMIT --rate-window WINDOW`` (per token, as
the API limits per account). ``--runs N`` backfills (``refresh_all``, figures included) run at once
as separate processes over the N consecutive slices of a ``--days`` window, all with the same
token and the same shared budget (``LIMIT`` per ``WINDOW``, a SQLite file), so together they do the
work of one ``--days`` backfill. ``--no-budget`` runs them with their own pacing only.

Reported: wall time (first run's start to last run's end), requests served (replica's ``/_replica/stats``) and their rate as a share of
the allowed rate, 429s, and failed plumes (product rows with an error, crops with status error).

    python bench/rate_budget_bench.py --runs 1            # one 30-day backfill at 300/60
    python bench/rate_budget_bench.py --runs 2            # two concurrent runs, 15 days each
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def worker(args: argparse.Namespace) -> None:
    """One backfill in this process; prints a JSON line with its outcome."""
    from dagster import DagsterInstance

    from cm_assets.definitions import build_definitions
    from cm_assets.defs.partitions import range_tags
    from cm_assets.defs.resources import CarbonMapperResource, StorageResource
    from cm_assets.storage.store import Storage

    budget = {} if args.no_budget else {"budget_requests": args.limit, "budget_window": args.window,
                                        "budget_store": args.budget_store}
    resource = CarbonMapperResource(api_url=args.api_url, **budget)
    defs = build_definitions(resource, StorageResource(root=args.root))
    started = time.time()
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("refresh_all").execute_in_process(
            tags=range_tags(args.first, args.last), instance=instance, raise_on_error=False)
    ended = time.time()
    store = Storage(args.root)
    products = store.read_tables("products/day=*.parquet")
    crops = store.read_tables("crops/day=*.parquet")
    print(json.dumps({"success": result.success, "started": started, "ended": ended, "plumes": len(products),
                      "failed_products": int(products["error"].notna().sum()) if len(products) else 0,
                      "failed_crops": int((crops["status"] == "error").sum()) if len(crops) else 0}),
          flush=True)


def _slices(first: date, days: int, runs: int) -> list[tuple[str, str]]:
    size = -(-days // runs)
    out = []
    for k in range(runs):
        start = first + timedelta(days=k * size)
        end = min(first + timedelta(days=days - 1), start + timedelta(days=size - 1))
        out.append((start.isoformat(), end.isoformat()))
    return out


def bench(args: argparse.Namespace, work: Path) -> dict:
    from cm_assets.carbonmapper import CarbonMapperClient
    from cm_assets.demo import replica_today
    from cm_assets.replica.process import ReplicaProcess

    extra = ["--rate-limit", str(args.limit), "--rate-window", str(args.window)]
    with ReplicaProcess(work / "replica", scale="demo", extra_args=extra) as replica:
        with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
            token = client.transport.authorization_for(client.api_url).removeprefix("Bearer ")
        last = replica_today(replica.admin_url) - timedelta(days=args.lag)
        first = last - timedelta(days=args.days - 1)
        env = {**os.environ, "CARBONMAPPER_TOKEN": token, "PYTHONPATH": str(ROOT)}
        env.pop("CARBONMAPPER_EMAIL", None)
        env.pop("CARBONMAPPER_PASSWORD", None)
        requests.post(f"{replica.admin_url}/stats/reset", timeout=30)
        procs = []
        for k, (a, b) in enumerate(_slices(first, args.days, args.runs)):
            command = [sys.executable, __file__, "--worker", "--api-url", replica.api_url,
                       "--root", str(work / f"run{k}"), "--first", a, "--last", b,
                       "--limit", str(args.limit), "--window", str(args.window),
                       "--budget-store", str(work / "budget.sqlite")] + (["--no-budget"] if args.no_budget else [])
            procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env))
        outcomes = []
        for proc in procs:
            out, _ = proc.communicate()
            outcomes.append(json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else
                            {"success": False, "returncode": proc.returncode})
        stats = requests.get(f"{replica.admin_url}/stats", timeout=30).json()
    by_status: dict[str, int] = {}
    for cls in stats["classes"].values():
        for code, n in cls["status"].items():
            by_status[code] = by_status.get(code, 0) + n
    # the backfills' own time: from the first run's start to the last run's end (process start-up,
    # imports included, is not API time)
    wall = max(o.get("ended", 0.0) for o in outcomes) - min(o.get("started", 1e18) for o in outcomes)
    throttled = by_status.get("429", 0)
    served = sum(by_status.values()) - throttled
    allowed = args.limit / args.window
    return {"window": f"{first} .. {last}", "runs": args.runs, "budget": not args.no_budget,
            "wall_s": round(wall, 1), "requests_served": served, "throttled_429": throttled,
            "rate_per_s": round(served / wall, 3), "allowed_per_s": round(allowed, 3),
            "share_of_allowed": round(served / wall / allowed, 3),
            "requests_by_class": {k: sum(v["status"].values()) for k, v in stats["classes"].items()},
            "run_walls_s": [round(o.get("ended", 0.0) - o.get("started", 0.0), 1) for o in outcomes],
            "all_succeeded": all(o.get("success") for o in outcomes),
            "plumes": sum(o.get("plumes", 0) for o in outcomes),
            "failed_plumes": sum(o.get("failed_products", 0) for o in outcomes),
            "failed_crops": sum(o.get("failed_crops", 0) for o in outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="concurrent backfills (slices of the window)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lag", type=int, default=40, help="end the window this many days before today")
    parser.add_argument("--limit", type=int, default=300, help="the replica's requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="the replica's window, seconds")
    parser.add_argument("--no-budget", action="store_true", help="runs pace themselves alone")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for name in ("--api-url", "--root", "--first", "--last", "--budget-store"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="cm-rate-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(bench(args, work), indent=2))


if __name__ == "__main__":
    main()
