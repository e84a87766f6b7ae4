"""The shared warehouse (DuckLake: catalog in PostgreSQL, data files on an S3-compatible server) next
to the local DuckDB file, A B A B on one synthetic slice of catalog days.

Both warehouses are refreshed from the same data root (``--days`` days of ``--plumes`` plumes each,
written by the catalog asset's own code); then, alternating local (A) and lake (B) in every pair:
the refresh after a one-day change (one catalog file re-written, same rows), each query of
``QUERIES`` on a fresh read-only connection, and each query again on a read-only connection kept
open (as a notebook or dashboard keeps one), after the refreshes. Starts its own throw-away PostgreSQL cluster and moto S3
server (the deployment tests' servers), both on loopback: network latency to a real database and
object store comes on top of the lake's figures.

    python bench/lake_bench.py [--days 120] [--plumes 30] [--pairs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cm_assets.storage.layout import catalog_day  # noqa: E402
from cm_assets.storage.store import Storage  # noqa: E402
from cm_assets.sql.db import connect  # noqa: E402
from cm_assets.sql.lake import Lake, connect_lake  # noqa: E402
from cm_assets.sql.lake_refresh import refresh_lake  # noqa: E402
from cm_assets.sql.refresh import refresh_warehouse  # noqa: E402
from cm_assets.sql.schema import conform  # noqa: E402
from cm_assets.sql.query import run_query  # noqa: E402
from cm_assets_tests.deploy.services import PG_DB, PG_PASSWORD, PG_USER, MotoS3Server, PostgresServer  # noqa: E402
from cm_assets_tests.helpers.samples import catalog, payload  # noqa: E402

QUERIES = {
    "fresh connection (SELECT 1)": "SELECT 1",
    "count plumes": "SELECT count(*) FROM plumes",
    "plumes per instrument": "SELECT instrument, gas, count(*), median(emission_auto) FROM plumes GROUP BY ALL",
    "top 10 emitters": "SELECT plume_id, emission_auto FROM plumes ORDER BY emission_auto DESC NULLS LAST LIMIT 10",
    "bbox (lon/lat columns)": "SELECT count(*) FROM plumes "
                              "WHERE lon BETWEEN -104.5 AND -101.5 AND lat BETWEEN 31.0 AND 33.5",
    "plumes_enriched top 10": "SELECT plume_id, source_name FROM plumes_enriched "
                              "ORDER BY emission_auto DESC NULLS LAST LIMIT 10",
}


def write_slice(store: Storage, days: int, plumes: int) -> list[str]:
    """``days`` catalog files of ``plumes`` plumes each (seeded positions and emissions)."""
    rng = random.Random(7)
    written = []
    for offset in range(days):
        day = (date(2026, 1, 1) + timedelta(days=offset)).isoformat()
        stamp = day.replace("-", "")
        rows = []
        for k in range(plumes):
            lon, lat = rng.uniform(-110, -95), rng.uniform(28, 40)
            rows.append(payload("A", day=day, id=f"00000000-0000-4000-8000-{stamp}{k:04d}",
                                plume_id=f"tan{stamp}t181625c77s4001-{k}",
                                geometry_json={"type": "Point", "coordinates": [lon, lat]},
                                plume_bounds=[lon - 0.02, lat - 0.01, lon + 0.02, lat + 0.01],
                                emission_auto=rng.uniform(50, 5000)))
        frame, _ = catalog(day, rows)
        store.write_parquet(frame, catalog_day(day))
        written.append(day)
    return written


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--plumes", type=int, default=30, help="plumes per day")
    parser.add_argument("--pairs", type=int, default=5, help="A B pairs per measure")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="lake-bench-"))
    with PostgresServer() as postgres, MotoS3Server() as s3:
        os.environ.update(s3.env())
        os.environ["PGPASSWORD"] = PG_PASSWORD
        Storage("s3://lake-bench").fs.mkdir("lake-bench")
        store = Storage(str(work / "data"))
        days = write_slice(store, args.days, args.plumes)
        local = str(work / "cm.duckdb")
        lake = Lake.parse(f"ducklake:postgres:host=127.0.0.1 port={postgres.port} dbname={PG_DB} "
                          f"user={PG_USER}", "s3://lake-bench/lake/")
        targets = {"local file": local, "DuckLake": lake.target}
        refresh = {"local file": lambda: refresh_warehouse(local, store),
                   "DuckLake": lambda: refresh_lake(lake, store)}
        build = {name: _timed(action) for name, action in refresh.items()}
        day = days[len(days) // 2]

        def one_day(name: str) -> float:
            store.write_parquet(conform(store.read_parquet(catalog_day(day)), "plumes"), catalog_day(day))
            return _timed(refresh[name])

        for name in refresh:  # steady state: the local file's standby one refresh behind
            one_day(name)
        measures: dict[str, dict[str, list[float]]] = {"one-day refresh": {n: [] for n in targets}}
        measures |= {query: {n: [] for n in targets} for query in QUERIES}
        for _ in range(args.pairs):
            for name, target in targets.items():
                measures["one-day refresh"][name].append(one_day(name))
                for label, query in QUERIES.items():
                    measures[label][name].append(_timed(lambda: run_query(target, query)))
        # after the refreshes: a kept connection to the local file holds it, and the writer would
        # copy the published file instead of updating the standby
        kept = {"local file": connect(local, read_only=True, spatial=False),
                "DuckLake": connect_lake(lake, read_only=True, spatial=False)}
        for _ in range(args.pairs):
            for name in targets:
                for label, query in list(QUERIES.items())[1:]:
                    measures.setdefault(f"{label} (kept connection)", {n: [] for n in targets})[name].append(
                        _timed(lambda: kept[name].execute(query).fetchall()))
        for con in kept.values():
            con.close()
        counts = {n: run_query(t, "SELECT count(*) FROM plumes")[1][0][0] for n, t in targets.items()}
        assert len(set(counts.values())) == 1, counts

    load = os.getloadavg()[0]
    print(f"{args.days} days x {args.plumes} plumes = {counts['local file']} plumes; {args.pairs} A B pairs "
          f"(A local file, B DuckLake); load average {load:.1f}")
    print(f"first build (every file): local {build['local file']:.2f} s, DuckLake {build['DuckLake']:.2f} s")
    print("| measure (median) | local DuckDB file | DuckLake (PostgreSQL + S3) |\n|---|---|---|")
    for label, runs in measures.items():
        a, b = (statistics.median(runs[n]) * 1000 for n in targets)
        print(f"| {label} | {a:.0f} ms | {b:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
