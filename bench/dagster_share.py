"""Dagster's own share of the full-world catalog backfill.

A no-op asset shaped like ``plume_catalog`` — the same daily partitions, a single-run backfill
policy, the same number of asset checks reported once per run — materialized over the same
partition range in one run, with its checks (A) and without them (B), alternating. What it takes
is Dagster's bookkeeping of such a run (planning it, the planned and the materialization events
per partition), which the real backfill pays on top of its own work (`bench/graph_bench.py`).

    python bench/dagster_share.py [--pairs 1] [--instance ephemeral|sqlite] [--last YYYY-MM-DD] 2>/dev/null
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from dagster import (AssetCheckResult, AssetCheckSpec, BackfillPolicy, Definitions, MaterializeResult,
                     asset, define_asset_job)

from cm_assets.definitions import build_definitions
from cm_assets.defs.partitions import OBSERVATION_START, observation_days
from cm_assets.demo import range_tags
from graph_bench import bench_instance


def catalog_check_count() -> int:
    """How many asset checks ``plume_catalog`` declares."""
    defs = build_definitions()
    return len(list(defs.resolve_assets_def("plume_catalog").check_specs))


def noop_run(checks: int, first: str, last: str, instance) -> float:
    """Seconds of one run of the no-op asset over ``first``..``last`` with ``checks`` checks."""
    names = [f"check_{n}" for n in range(checks)]

    @asset(name="noop_catalog", partitions_def=observation_days, backfill_policy=BackfillPolicy.single_run(),
           check_specs=[AssetCheckSpec(name, asset="noop_catalog") for name in names])
    def noop_catalog() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(check_name=name, passed=True) for name in names])

    job = Definitions(assets=[noop_catalog], jobs=[define_asset_job("noop", [noop_catalog])]).resolve_job_def("noop")
    started = time.perf_counter()
    result = job.execute_in_process(tags=range_tags(first, last), instance=instance)  # as graph_bench runs it
    assert result.success
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--instance", choices=("ephemeral", "sqlite"), default="ephemeral")
    parser.add_argument("--last", default=observation_days.get_last_partition_key(),
                        help="last partition of the range (default: today's)")
    args = parser.parse_args(argv)
    checks = catalog_check_count()
    walls: dict[str, list[float]] = {"with checks": [], "without": []}
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="dagster-share-") as tmp:
        for pair in range(args.pairs):
            for label, n in (("with checks", checks), ("without", 0)):
                instance = bench_instance(args.instance, Path(tmp) / f"home-{pair}-{n}")
                walls[label].append(noop_run(n, OBSERVATION_START, args.last, instance))
                print(f"pair {pair + 1}, {label}: {walls[label][-1]:.1f} s", flush=True)
    partitions = (date.fromisoformat(args.last) - date.fromisoformat(OBSERVATION_START)).days + 1
    runs = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(walls["with checks"], walls["without"]))
    print(f"| a no-op asset shaped like plume_catalog, {partitions:,} partitions, one run ({args.instance} "
          f"instance): with its {checks} checks / without (A B pairs: {runs} s) | median "
          f"{statistics.median(walls['with checks']):.1f} s / {statistics.median(walls['without']):.1f} s |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
