"""Benchmark of the asset graph against the local replica.

1. The whole graph (refresh_all) over 30 observation days of the demo world in one run:
   throughput (plumes/s) and bytes fetched, compared with the bytes kept and with what whole-file
   downloads of the same L2B scenes would have cost (the replica's /_replica/stats).
2. plume_catalog over the full 100k-plume world as one backfill run (with the warehouse): wall time
   and peak memory (resource.getrusage); then `sources` at that size (with ``--source-stats`` also
   `source_stats`, without figures, so that the join with it joins 17k rows rather than none), the
   warehouse refresh after a one-day change (median of 5), and typical queries, each on a fresh
   read-only connection (median of 5).
3. With ``--figures-ab N``: the same window with figures on and off, alternating (A B A B, N pairs)
   on one warm replica: the cost of the pictures over the run without them.

    python bench/graph_bench.py [--scale demo] [--days 30] [--skip-graph] [--skip-full] [--source-stats] [--no-docs]
    python bench/graph_bench.py --first 2026-03-04 --last 2026-03-13 --figures-ab 2 --skip-graph --skip-full
    python bench/graph_bench.py --first 2026-03-04 --last 2026-03-13 --figures-ab 2 --slow-ms 100 --skip-graph --skip-full

Figures are printed as a table and, for a run that measured both the whole graph and the full
catalog, written between the bench markers of docs/pipeline.md (a partial run's table would
replace the rows it did not measure; copy its rows by hand).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from doc_blocks import write_block

# A figure worker (multiprocessing's spawn) re-imports this script as __mp_main__: there it imports
# nothing more, as a worker of a run Dagster launches (`python -m dagster`, never re-imported).
if __name__ != "__mp_main__":
    import duckdb
    import requests
    from dagster import AssetKey, DagsterInstance

    from cm_assets.definitions import build_definitions
    from cm_assets.defs.figures import shutdown_pools
    from cm_assets.defs.partitions import OBSERVATION_START
    from cm_assets.defs.resources import CarbonMapperResource, StorageResource
    from cm_assets.storage.layout import catalog_day
    from cm_assets.storage.store import Storage
    from cm_assets.demo import range_tags, replica_today
    from cm_assets.replica.process import ReplicaProcess
    from cm_assets.sql.db import ROW_GROUP_SIZE, literal, load_spatial
    from cm_assets.sql.refresh import refresh_warehouse
    from cm_assets.sql.schema import conform
    from cm_assets.sql.snapshot import standby_path
    from cm_assets.sql.query import run_query

DOCS = Path(__file__).resolve().parents[1] / "docs" / "pipeline.md"
L2B_BANDS = ("cmf.tif", "uncertainty.tif", "rgb.tif", "artifact-mask.tif")
QUERIES = {
    "count plumes": "SELECT count(*) FROM plumes",
    "plumes per instrument": "SELECT instrument, gas, count(*), median(emission_auto) FROM plumes GROUP BY ALL",
    "top 10 emitters": "SELECT plume_id, emission_auto FROM plumes ORDER BY emission_auto DESC NULLS LAST LIMIT 10",
    "monthly counts": "SELECT date_trunc('month', scene_timestamp) m, count(*) FROM plumes GROUP BY 1 ORDER BY 1",
    "monthly counts (UTC month from observation_day)":
        "SELECT left(observation_day, 7) AS month, count(*) FROM plumes GROUP BY 1 ORDER BY 1",
    "within 100 km (spatial, distance only: full scan)":
        "SELECT count(*) FROM plumes "
        "WHERE ST_Distance_Sphere(ST_FlipCoordinates(geometry), ST_Point(32.0, -103.9)) < 100000",
    "within 100 km (ST_Intersects box, then distance)":
        "SELECT count(*) FROM (SELECT * FROM plumes WHERE "
        "ST_Intersects(geometry, ST_MakeEnvelope(-104.99, 31.09, -102.81, 32.91))) "
        "WHERE ST_Distance_Sphere(ST_FlipCoordinates(geometry), ST_Point(32.0, -103.9)) < 100000",
    "within 100 km (lon/lat box, then distance)":
        "SELECT count(*) FROM plumes WHERE lon BETWEEN -104.99 AND -102.81 AND lat BETWEEN 31.09 AND 32.91 "
        "AND ST_Distance_Sphere(ST_Point(lat, lon), ST_Point(32.0, -103.9)) < 100000",
    "duplicate ids": "SELECT plume_id FROM plumes GROUP BY 1 HAVING count(*) > 1",
    "plumes_enriched top 10": "SELECT plume_id, source_name FROM plumes_enriched "
                              "ORDER BY emission_auto DESC NULLS LAST LIMIT 10",
    "bbox (ST_Intersects on geometry)": "SELECT count(*) FROM plumes "
                     "WHERE ST_Intersects(geometry, ST_MakeEnvelope(-104.5, 31.0, -101.5, 33.5))",
    "bbox (lon/lat columns)": "SELECT count(*) FROM plumes "
                              "WHERE lon BETWEEN -104.5 AND -101.5 AND lat BETWEEN 31.0 AND 33.5",
    "join with source_stats": "SELECT ps.source_name, count(*) AS plumes, max(ss.site_emission) AS site "
                              "FROM plumes p JOIN plume_sources ps USING (plume_id) "
                              "LEFT JOIN source_stats ss USING (source_name) GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
}
RUNS = 5


def _resources(replica: ReplicaProcess, root: Path):
    os.environ["CARBONMAPPER_EMAIL"], os.environ["CARBONMAPPER_PASSWORD"] = replica.email, replica.password
    os.environ.pop("CARBONMAPPER_TOKEN", None)
    return CarbonMapperResource(api_url=replica.api_url), StorageResource(root=str(root))


def _stats(replica: ReplicaProcess) -> dict:
    return requests.get(f"{replica.admin_url}/stats", timeout=30).json()


def _tree_bytes(path: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file())


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def bench_graph(scale: str, days: int, lag: int, work: Path) -> dict:
    """The whole graph over ``days`` days ending ``lag`` days before the replica's today."""
    with ReplicaProcess(work / "replica-graph", scale=scale) as replica:
        last = replica_today(replica.admin_url) - timedelta(days=lag)
        first = last - timedelta(days=days - 1)
        root = work / "graph"
        defs = build_definitions(*_resources(replica, root))
        requests.post(f"{replica.admin_url}/stats/reset", timeout=30)
        started = time.perf_counter()
        with DagsterInstance.ephemeral() as instance:
            result = defs.resolve_job_def("refresh_all").execute_in_process(
                tags=range_tags(first.isoformat(), last.isoformat()), instance=instance)
        wall = time.perf_counter() - started
        stats = _stats(replica)
    _, ((plumes, crops_ok),) = run_query(root / "cm.duckdb", "SELECT (SELECT count(*) FROM plumes), "
                                         "(SELECT count(*) FROM scene_crops WHERE status = 'ok')")
    _, scenes = run_query(root / "cm.duckdb", "SELECT DISTINCT scene_name FROM scene_crops WHERE status = 'ok'")
    whole_scenes = sum(_tree_bytes(work / "replica-graph", f"*{name}*/{band}")
                       for (name,) in scenes for band in L2B_BANDS)
    fetched = stats["bytes"]
    kept = _tree_bytes(root / "products", "*.tif") + _tree_bytes(root / "products", "*.geojson") \
        + _tree_bytes(root / "crops", "*.tif")
    return {"success": result.success, "window": f"{first} .. {last}", "wall_s": wall, "plumes": plumes,
            "plumes_per_s": plumes / wall if wall else 0.0, "crops_ok": crops_ok, "requests": stats["requests"],
            "fetched": fetched, "fetched_by_class": {k: v["bytes"] for k, v in stats["classes"].items()},
            "kept": kept, "whole_scene_bytes": whole_scenes}


def _median_s(action, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _refresh_seconds(result) -> float:
    """The warehouse step's own refresh time, from its materialization metadata."""
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == AssetKey("warehouse")]
    return event.materialization.metadata["refresh_seconds"].value


def bench_queries(database: Path) -> dict[str, float]:
    """Median latency of each query, every run on a fresh read-only connection."""
    return {name: _median_s(lambda: run_query(database, query)) for name, query in QUERIES.items()}


def bench_queries_ab(database: Path, other: Path) -> dict[str, tuple[float, float]]:
    """Median latency of each query on ``database`` (A) and ``other`` (B), alternating A B per run,
    every run on a fresh read-only connection."""
    out = {}
    for name, query in QUERIES.items():
        times: dict[Path, list[float]] = {database: [], other: []}
        for _ in range(RUNS):
            for path, runs in times.items():
                started = time.perf_counter()
                run_query(path, query)
                runs.append(time.perf_counter() - started)
        out[name] = (statistics.median(times[database]), statistics.median(times[other]))
    return out


def _busiest_day(database: Path) -> tuple[str, int]:
    _, ((day, rows),) = run_query(database, "SELECT observation_day, count(*) FROM plumes "
                                            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
    return day, rows


def _one_day_refresh(store: Storage, database: Path, day: str, copy: bool = False) -> float:
    """Re-materialize ``day``'s catalog file (same rows, a new file) and refresh; with ``copy``,
    the standby is dropped first, so the writer copies the published file instead."""
    store.write_parquet(conform(store.read_parquet(catalog_day(day)), "plumes"), catalog_day(day))
    if copy:
        standby_path(database).unlink(missing_ok=True)
    started = time.perf_counter()
    done = refresh_warehouse(database, store)
    seconds = time.perf_counter() - started
    assert done.changes["plumes"].ingested == 1 and not done.rebuilt, done
    return seconds


def bench_one_day_refresh(root: Path, database: Path) -> tuple[float, str, int]:
    """The busiest day re-materialized and the warehouse refreshed (median of ``RUNS``, after one
    refresh that leaves a standby one refresh behind, as in steady state)."""
    store = Storage(str(root))
    day, rows = _busiest_day(database)
    _one_day_refresh(store, database, day)
    return statistics.median(_one_day_refresh(store, database, day) for _ in range(RUNS)), day, rows


def bench_refresh_ab(root: Path, database: Path, pairs: int) -> dict[str, list[float]]:
    """The one-day refresh updating the standby (A) and copying the published file (B), alternating."""
    store = Storage(str(root))
    day, _ = _busiest_day(database)
    out: dict[str, list[float]] = {"standby": [], "copy": []}
    _one_day_refresh(store, database, day)
    for _ in range(pairs):
        for label, runs in out.items():
            runs.append(_one_day_refresh(store, database, day, copy=label == "copy"))
    return out


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def profile_reader(database: Path, query: str = QUERIES["count plumes"]) -> dict[str, float]:
    """Where a fresh read-only connection's time goes (median of ``RUNS``, ms): a new DuckDB
    instance, attaching the file, binding the first table, the query (cold: first read of its
    blocks) and the same query again (warm); plus loading spatial and, after it, the first
    touch of a table with an R-tree (its index is loaded then), and closing."""
    steps: dict[str, list[float]] = {}
    for _ in range(RUNS):
        started = time.perf_counter()
        con = duckdb.connect(":memory:", config={"allow_unsigned_extensions": "true"})
        steps.setdefault("new instance", []).append(_ms(started))
        started = time.perf_counter()
        con.execute(f"ATTACH {literal(str(database))} AS w (READ_ONLY, ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute("USE w")
        steps.setdefault("attach", []).append(_ms(started))
        started = time.perf_counter()
        con.execute("SELECT * FROM plumes LIMIT 0").fetchall()
        steps.setdefault("bind plumes", []).append(_ms(started))
        started = time.perf_counter()
        con.execute(query).fetchall()
        steps.setdefault("query (cold)", []).append(_ms(started))
        started = time.perf_counter()
        con.execute(query).fetchall()
        steps.setdefault("query (warm)", []).append(_ms(started))
        started = time.perf_counter()
        load_spatial(con)
        steps.setdefault("load spatial", []).append(_ms(started))
        started = time.perf_counter()
        con.execute("SELECT count(*) FROM sources").fetchall()
        steps.setdefault("first touch of an R-tree table (sources)", []).append(_ms(started))
        started = time.perf_counter()
        con.close()
        steps.setdefault("close", []).append(_ms(started))
    return {name: statistics.median(times) for name, times in steps.items()}


def _run_window(replica: ReplicaProcess, root: Path, first: str, last: str, plots: bool,
                figure_workers: int | None) -> tuple[float, bool]:
    defs = build_definitions(*_resources(replica, root))
    config = {"config": {"plots": plots, "figure_workers": figure_workers}}
    run_config = {"ops": {name: config for name in ("plume_products", "scene_crops", "source_stats")},
                  "loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:  # disposed here, not by a later collection on another thread
        result = defs.resolve_job_def("refresh_all").execute_in_process(
            run_config=run_config, tags=range_tags(first, last), instance=instance)
    wall = time.perf_counter() - started
    shutdown_pools()  # as in a new run process, the next run starts its own figure workers
    return wall, result.success


def bench_figures_ab(scale: str, first: str, last: str, pairs: int, work: Path, figure_workers: int | None,
                     slow_ms: int = 0) -> dict:
    """refresh_all over ``first``..``last`` with figures on (A) and off (B), alternating, each run
    into a fresh directory, after one warm-up run that fills the replica's raster cache; with
    ``slow_ms``, every response of the replica is delayed that long (a far-away API)."""
    walls: dict[str, list[float]] = {"figures": [], "no figures": []}
    ok = True
    slow = ["--slow-rate", "1", "--slow-ms", str(slow_ms)] if slow_ms else []
    with ReplicaProcess(work / "replica-ab", scale=scale, extra_args=slow) as replica:
        ok &= _run_window(replica, work / "ab-warm", first, last, True, figure_workers)[1]
        for n in range(pairs):
            for label, plots in (("figures", True), ("no figures", False)):
                wall, success = _run_window(replica, work / f"ab-{n}-{plots}", first, last, plots,
                                            figure_workers)
                walls[label].append(wall)
                ok &= success
                print(f"pair {n + 1} {label}: {wall:.1f} s", flush=True)
    return {"success": ok, "window": f"{first} .. {last}", "walls": walls, "figure_workers": figure_workers,
            "latency": f"+{slow_ms} ms a request" if slow_ms else "loopback"}


#: the project's instance settings (`make dev` copies them into DAGSTER_HOME)
DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def bench_instance(kind: str, home: Path) -> DagsterInstance:
    """``ephemeral``: in-memory storage (events cost CPU only); ``sqlite``: the storage `make dev` /
    `dagster dev` uses, SQLite files under a DAGSTER_HOME (``home``) with the project's dagster.yaml,
    where every stored event is a write to disk."""
    if kind == "ephemeral":
        return DagsterInstance.ephemeral()
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    return DagsterInstance.from_config(str(home))


def bench_full_catalog(work: Path, instance: str = "ephemeral",
                       source_stats: bool = False) -> dict:
    """plume_catalog over every day of the full world as one run (and the warehouse) on an
    ``instance`` of that kind (:func:`bench_instance`), then sources (and, with ``source_stats``,
    source statistics without figures: one source detail request per source, minutes), a one-day
    warehouse refresh and query latency at that size."""
    started = time.perf_counter()
    with ReplicaProcess(work / "replica-full", scale="full") as replica:
        replica_start = time.perf_counter() - started
        last = replica_today(replica.admin_url)
        root = work / "full"
        defs = build_definitions(*_resources(replica, root))
        job = defs.resolve_job_def("refresh_days")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with bench_instance(instance, work / "dagster-home") as dagster_instance:
            result = job.execute_in_process(tags=range_tags(OBSERVATION_START, last.isoformat()),
                                            asset_selection=[AssetKey("plume_catalog"), AssetKey("warehouse")],
                                            instance=dagster_instance)
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        requests_made = _stats(replica)["requests"]
        started = time.perf_counter()
        with DagsterInstance.ephemeral() as sources_instance:
            sources = defs.resolve_job_def("refresh_warehouse").execute_in_process(
                asset_selection=[AssetKey("sources"), AssetKey("warehouse")], instance=sources_instance)
        sources_wall = time.perf_counter() - started
        stats, stats_wall = None, None
        if source_stats and sources.success:
            started = time.perf_counter()
            with DagsterInstance.ephemeral() as stats_instance:
                stats = defs.resolve_job_def("refresh_warehouse").execute_in_process(
                    asset_selection=[AssetKey("source_stats"), AssetKey("warehouse")],
                    run_config={"ops": {"source_stats": {"config": {"plots": False}}}}, instance=stats_instance)
            stats_wall = time.perf_counter() - started
    database = root / "cm.duckdb"
    refresh_s, refresh_day, refresh_rows = bench_one_day_refresh(root, database)
    latencies = bench_queries(database)
    _, ((plumes, attributed, n_sources, n_stats),) = run_query(
        database, "SELECT (SELECT count(*) FROM plumes), (SELECT count(*) FROM plume_sources), "
                  "(SELECT count(*) FROM sources), (SELECT count(*) FROM source_stats)")
    partitions = (last - date.fromisoformat(OBSERVATION_START)).days + 1
    return {"success": result.success and sources.success and (stats is None or stats.success), "replica_start_s": replica_start, "wall_s": wall,
            "plumes": plumes, "partitions": partitions, "requests": requests_made, "peak_rss_kib": peak_kib,
            "rss_before_kib": before, "catalog_bytes": _tree_bytes(root / "catalog"),
            "initial_refresh_s": _refresh_seconds(result), "sources_wall_s": sources_wall,
            "source_stats_wall_s": stats_wall,
            "attributed": attributed, "sources": n_sources, "source_stats": n_stats,
            "refresh_s": refresh_s, "refresh_day": refresh_day, "refresh_rows": refresh_rows,
            "database_bytes": database.stat().st_size, "latencies": latencies, "instance": instance}


def _workers(figure_workers: int | None) -> str:
    return "auto" if figure_workers is None else str(figure_workers)


def render(graph: dict | None, full: dict | None, ab: dict | None = None) -> str:
    lines = ["| measurement | value |", "|---|---|"]
    if ab:
        pairs = list(zip(ab["walls"]["figures"], ab["walls"]["no figures"]))
        on, off = (statistics.median(ab["walls"][k]) for k in ("figures", "no figures"))
        by_pair = statistics.median(a / b for a, b in pairs)  # each pair ran side by side: its ratio is the reading
        runs = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in pairs)
        lines += [f"| refresh_all {ab['window']} ({ab['latency']}), figures on "
                  f"(figure_workers={_workers(ab['figure_workers'])}) / off "
                  f"(A B pairs: {runs} s) "
                  f"| median {on:.1f} s / {off:.1f} s; figures cost {100 * (by_pair - 1):+.0f} % "
                  f"(median of the pairs' ratios) |"]
    if graph:
        lines += [
            f"| whole graph, {graph['window']} ({graph['plumes']} plumes, {graph['crops_ok']} crops) "
            f"| {graph['wall_s']:.1f} s, {graph['plumes_per_s']:.2f} plumes/s |",
            f"| requests to the API + CDN | {graph['requests']:,} |",
            f"| bytes fetched (by class) | {_mib(graph['fetched'])} ("
            + ", ".join(f"{k} {_mib(v)}" for k, v in sorted(graph['fetched_by_class'].items())) + ") |",
            f"| bytes kept (products + crops) | {_mib(graph['kept'])} |",
            f"| whole-file size of the same L2B scene bands | {_mib(graph['whole_scene_bytes'])} |",
        ]
    if full:
        lines += [
            f"| catalog backfill, {full['partitions']:,} daily partitions, {full['plumes']:,} plumes, one run "
            f"({full['instance']} instance) "
            f"| {full['wall_s']:.1f} s ({full['plumes'] / full['wall_s']:,.0f} plumes/s), "
            f"{full['requests']:,} requests |",
            f"| peak memory of the process (ru_maxrss): before the backfill / after | "
            f"{full['rss_before_kib'] / 1024:,.0f} MiB / {full['peak_rss_kib'] / 1024:,.0f} MiB |",
            f"| catalog GeoParquet on disk | {_mib(full['catalog_bytes'])} |",
            f"| replica start (full world build) | {full['replica_start_s']:.1f} s |",
        ]
        lines += [
            f"| warehouse build in that run (every file, {full['plumes']:,} plumes) | "
            f"{full['initial_refresh_s']:.2f} s |",
            f"| `sources` at that size ({full['sources']:,} sources, {full['attributed']:,} attributed plumes) | "
            f"{full['sources_wall_s']:.1f} s |",
            (f"| `source_stats` at that size, no figures ({full['source_stats']:,} rows) | "
             f"{full['source_stats_wall_s']:.1f} s |" if full["source_stats_wall_s"] is not None else
             "| `source_stats` | not materialized (0 rows; `--source-stats` does) |"),
            f"| warehouse refresh after a one-day change ({full['refresh_day']}, {full['refresh_rows']} plumes "
            f"re-read; median of {RUNS}) | {full['refresh_s'] * 1000:,.0f} ms |",
            f"| DuckDB file | {_mib(full['database_bytes'])} |",
        ]
        lines += [f"| query: {name} (median of {RUNS}, new read-only connection) | {seconds * 1000:,.0f} ms |"
                  for name, seconds in full["latencies"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo", help="replica world of the whole-graph run")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lag", type=int, default=40, help="end the window this many days before today "
                                                            "(plumes and scenes published by then)")
    parser.add_argument("--first", help="first day of the --figures-ab window")
    parser.add_argument("--last", help="last day of the --figures-ab window")
    parser.add_argument("--figures-ab", type=int, default=0, metavar="PAIRS",
                        help="A/B pairs of the window with figures on and off")
    parser.add_argument("--figure-workers", type=lambda v: None if v == "auto" else int(v), default=None,
                        help="figure_workers of the runs with figures (0: drawn on the fetching threads; "
                             "default auto: the assets' default, by the run's size)")
    parser.add_argument("--slow-ms", type=int, default=0,
                        help="--figures-ab against a replica that delays every response this long")
    parser.add_argument("--skip-graph", action="store_true")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--instance", choices=("ephemeral", "sqlite"), default="ephemeral",
                        help="Dagster instance of the full-world backfill: in-memory, or SQLite files "
                             "on disk as `make dev` uses")
    parser.add_argument("--source-stats", action="store_true",
                        help="full world: also materialize source_stats (no figures) before the queries")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--warehouse-only", type=Path, default=None,
                        help="data root of an earlier full run: only the one-day refresh and the queries")
    parser.add_argument("--refresh-ab", type=int, default=0, metavar="PAIRS",
                        help="with --warehouse-only: A/B pairs of the one-day refresh, standby updated vs copy")
    parser.add_argument("--compare-db", type=Path, default=None,
                        help="with --warehouse-only: run the queries alternately on this DuckDB file too "
                             "(e.g. one built by an earlier version)")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.figures_ab and not (args.first and args.last):
        parser.error("--figures-ab needs --first and --last")
    if args.warehouse_only:
        database = args.warehouse_only / "cm.duckdb"
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        refresh_s, day, rows = bench_one_day_refresh(args.warehouse_only, database)
        print(f"| warehouse refresh after a one-day change ({day}, {rows} plumes re-read; median of {RUNS}) "
              f"| {refresh_s * 1000:,.0f} ms |")
        if args.refresh_ab:
            ab = bench_refresh_ab(args.warehouse_only, database, args.refresh_ab)
            runs = ", ".join(f"{a * 1000:,.0f}/{b * 1000:,.0f}" for a, b in zip(ab["standby"], ab["copy"]))
            print(f"| one-day refresh, standby updated / published file copied (A B pairs: {runs} ms) "
                  f"| median {statistics.median(ab['standby']) * 1000:,.0f} ms / "
                  f"{statistics.median(ab['copy']) * 1000:,.0f} ms |")
        if args.compare_db:
            for name, (mine, other) in bench_queries_ab(database, args.compare_db).items():
                print(f"| query: {name} (median of {RUNS}, new read-only connection; A B alternating: "
                      f"this file / {args.compare_db.name}) | {mine * 1000:,.0f} ms / {other * 1000:,.0f} ms |")
        else:
            for name, seconds in bench_queries(database).items():
                print(f"| query: {name} (median of {RUNS}, new read-only connection) | {seconds * 1000:,.0f} ms |")
        for step, ms in profile_reader(database).items():
            print(f"| fresh read-only connection, {step} (median of {RUNS}) | {ms:,.1f} ms |")
        print(f"| DuckDB file | {_mib(database.stat().st_size)} |")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        return 0
    with tempfile.TemporaryDirectory(prefix="graph-bench-") as tmp:
        work = args.work or Path(tmp)
        graph = None if args.skip_graph else bench_graph(args.scale, args.days, args.lag, work)
        full = None if args.skip_full else bench_full_catalog(work, args.instance, args.source_stats)
        ab = (bench_figures_ab(args.scale, args.first, args.last, args.figures_ab, work,
                                 args.figure_workers, args.slow_ms)
              if args.figures_ab else None)
    table = render(graph, full, ab)
    print(table)
    if not args.no_docs:
        if graph is not None and full is not None:
            write_block("graph-bench", table, DOCS)
        else:
            print(f"{DOCS.name} not written: a run with --skip-graph or --skip-full would drop the rows it did not measure")
    return 0 if all(r is None or r["success"] for r in (graph, full, ab)) else 1


if __name__ == "__main__":
    sys.exit(main())
