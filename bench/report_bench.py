"""Cost of ``cm-assets plume <id>``: fetching everything vs reusing a materialized day.

Starts its own replica (tiny world, seed 7, end 2026-11-24), picks the strongest CH4 plume
observed 60-200 days before the end whose L2B scene is published, materializes that day
(``refresh_days``) into one data root, then runs the command alternately (A B A B, each in a fresh
process so GDAL's in-process cache cannot help) against an empty data root (A: fetch) and the
materialized one (B: reuse). Requests and bytes are the replica's ``/_replica/stats`` counters.

Usage: ``python bench/report_bench.py [--rounds 2] [--write docs/pipeline.md]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from doc_blocks import README, write_block

# A figure worker (multiprocessing's spawn) re-imports this script as __mp_main__: there it imports
# nothing more, as a worker of a run Dagster launches (`python -m dagster`, never re-imported).
if __name__ != "__mp_main__":
    import requests
    from dagster import DagsterInstance

    from cm_assets.carbonmapper import CarbonMapperClient, Gas, SceneNotPublished
    from cm_assets.definitions import build_definitions
    from cm_assets.defs.resources import CarbonMapperResource, StorageResource
    from cm_assets.replica.process import ReplicaProcess

END = "2026-11-24"


def pick_plume(client: CarbonMapperClient):
    end = datetime.combine(date.fromisoformat(END), datetime.min.time(), tzinfo=timezone.utc)
    plumes = client.iter_plumes(gas=Gas.CH4, observed=(end - timedelta(days=200), end - timedelta(days=60)))
    for record in sorted(plumes, key=lambda p: -(p.emission_auto or 0)):
        try:
            client.scene_for_plume(record)
            return record
        except SceneNotPublished:
            continue
    raise SystemExit("no plume with a published scene")


def run_once(replica: ReplicaProcess, plume_id: str, data_root: Path, out: Path) -> tuple[float, int, int]:
    requests.post(f"{replica.admin_url}/stats/reset", timeout=30).raise_for_status()
    env = {**os.environ, "CARBONMAPPER_API_URL": replica.api_url, "CARBONMAPPER_EMAIL": replica.email,
           "CARBONMAPPER_PASSWORD": replica.password, "CM_ASSETS_DATA_ROOT": str(data_root)}
    env.pop("CARBONMAPPER_TOKEN", None)
    env.pop("CM_ASSETS_WAREHOUSE", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cm_assets.cli", "plume", plume_id, "--out", str(out)],
                   env=env, check=True, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - start
    stats = requests.get(f"{replica.admin_url}/stats", timeout=30).json()
    return elapsed, stats["requests"], stats["bytes"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write", type=Path, help="rewrite the figures block of this markdown file and the README's")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="report-bench-"))
    with ReplicaProcess(work / "replica", scale="tiny", end=END,
                        extra_args=["--clock-start", "2026-11-25T00:00:00Z"]) as replica:
        with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
            plume = pick_plume(client)
        materialized = work / "materialized"
        os.environ["CARBONMAPPER_EMAIL"], os.environ["CARBONMAPPER_PASSWORD"] = replica.email, replica.password
        os.environ.pop("CARBONMAPPER_TOKEN", None)
        defs = build_definitions(CarbonMapperResource(api_url=replica.api_url),
                                 StorageResource(root=str(materialized)))
        day = plume.scene_timestamp.strftime("%Y-%m-%d")
        with DagsterInstance.ephemeral() as instance:
            assert defs.resolve_job_def("refresh_days").execute_in_process(partition_key=day, instance=instance).success
        runs: dict[str, list[tuple[float, int, int]]] = {"fetch": [], "reuse": []}
        for i in range(args.rounds):
            runs["fetch"].append(run_once(replica, plume.plume_id, work / f"empty{i}", work / f"out-a{i}"))
            runs["reuse"].append(run_once(replica, plume.plume_id, materialized, work / f"out-b{i}"))
    lines = [f"Plume `{plume.plume_id}` ({plume.emission_version}), replica `tiny` seed 7, "
             f"{args.rounds} rounds A B A B, each run a fresh `cm-assets plume` process (start-up included).",
             "", "| inputs | wall time (median) | requests | bytes served |", "|---|---|---|---|"]
    for mode, label in (("fetch", "fetched from the API (empty data root)"),
                        ("reuse", "products and crops reused from the data root")):
        times = [r[0] for r in runs[mode]]
        lines.append(f"| {label} | {statistics.median(times):.1f} s | {runs[mode][-1][1]} | {runs[mode][-1][2]:,} |")
    block = "\n".join(lines)
    print(block)
    if args.write:
        write_block("report-bench", block, args.write, README)
    return 0


if __name__ == "__main__":
    sys.exit(main())
