"""Freshness latency: from a plume's publication on the replica to its row in DuckDB.

Starts a replica and ``dagster dev`` with the default sensor interval, lets the first tick pass,
then for each sample sets the replica clock just past the next publication and times until the
plume is queryable in the warehouse (opened read-only). Prints the figures and writes them to
docs/freshness.md between the ``latency`` markers.

    .venv/bin/python bench/freshness_latency.py [--samples 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cm_assets.defs.api_watch.settings import SENSOR_INTERVAL_SECONDS  # noqa: E402
from cm_assets.replica.process import ReplicaProcess  # noqa: E402
from cm_assets.replica.world import WorldConfig  # noqa: E402
from cm_assets.replica.world_generator import build_world  # noqa: E402
from cm_assets_tests.e2e.flows import finished_runs, first_cursor_tick, query_warehouse  # noqa: E402
from cm_assets_tests.e2e.stack import DagsterDev, wait_for  # noqa: E402
from doc_blocks import write_block  # noqa: E402

END = "2026-11-24"
CLOCK_START = "2026-11-25T00:00:00Z"
DOCS = REPO / "docs" / "freshness.md"


def replica_now(replica: ReplicaProcess) -> pd.Timestamp:
    return pd.Timestamp(requests.get(f"{replica.admin_url}/clock", timeout=30).json()["now"])


def publish_next(replica: ReplicaProcess, plumes: pd.DataFrame) -> tuple[str, float]:
    """Set the replica clock one second past the next publication; returns (plume UUID, wall time)."""
    upcoming = plumes[plumes["published_at"] > replica_now(replica)].sort_values("published_at")
    plume = upcoming.iloc[0]
    instant = plume["published_at"] + timedelta(seconds=1)
    requests.post(f"{replica.admin_url}/clock", json={"set": instant.isoformat()}, timeout=30).raise_for_status()
    return str(plume["id"]), time.monotonic()


def in_warehouse(dev: DagsterDev, plume_uuid: str) -> bool:
    if not (dev.data_root / "cm.duckdb").exists():
        return False
    return bool(query_warehouse(dev, "SELECT count(*) FROM plumes WHERE id = ?", [plume_uuid])[0][0])


def measure(samples: int, workdir: Path) -> list[float]:
    world = build_world(WorldConfig.from_scale("tiny", seed=7, end=date.fromisoformat(END)))
    plumes = world.plumes[world.plumes["status"] == "published"]
    with ReplicaProcess(workdir / "replica", scale="tiny", end=END,
                        extra_args=["--clock-start", CLOCK_START]) as replica:
        env = {"CARBONMAPPER_API_URL": replica.api_url, "CARBONMAPPER_EMAIL": replica.email,
               "CARBONMAPPER_PASSWORD": replica.password, "CM_ASSETS_FRESHNESS_LOOKBACK_DAYS": "0"}
        with DagsterDev(workdir / "dagster", env) as dev:
            first = first_cursor_tick(dev, "new_plume_sensor", timeout=3 * SENSOR_INTERVAL_SECONDS + 120)
            finished_runs(dev, "new_plumes", len(first["runIds"]), 600)
            latencies = []
            for index in range(samples):
                plume_uuid, published = publish_next(replica, plumes)
                wait_for(lambda: in_warehouse(dev, plume_uuid), 4 * SENSOR_INTERVAL_SECONDS + 600,
                         f"plume {plume_uuid} in DuckDB", interval=0.5)
                latencies.append(time.monotonic() - published)
                print(f"sample {index + 1}: {latencies[-1]:.1f} s", flush=True)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="freshness-bench-") as workdir:
        latencies = measure(args.samples, Path(workdir))
    text = (f"Measured by `bench/freshness_latency.py` ({len(latencies)} samples, sensor interval "
            f"{SENSOR_INTERVAL_SECONDS} s, tiny replica): publication → queryable in DuckDB "
            f"median {statistics.median(latencies):.0f} s, min {min(latencies):.0f} s, "
            f"max {max(latencies):.0f} s.")
    print(text)
    if not args.no_docs:
        write_block("latency", text, DOCS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
