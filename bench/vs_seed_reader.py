"""cm_assets' refresh_all against the seed's reader, side by side on one replica of the API.

The seed's reader (``georeader-spaceml[carbonmapper]``, pinned below) runs in its own virtual
environment, created by this script under ``bench/.seed-venv`` (git-ignored; never a dependency of
the package), through ``bench/seed_reader_run.py``: per CH4 plume of the window, sequentially, the 7
products, the 3 L2B crops and the plume's source, as the seed notebook does. cm_assets runs
``refresh_all`` (everything it does: both gases, products, crops, figures, sources, source_stats,
the warehouse) over the same days. Both read from one replica, its raster cache warmed by a first
cm_assets run, alternating A B A B, at loopback and with every response delayed by 100 ms
(``--slow-rate 1 --slow-ms 100``: a replica restarted on the same data directory, cache kept).

After each pair, ``refresh_all`` also runs over as many days without plumes (from the partitions'
first day): what a run costs before its first plume. Prints each pair's walls and ratio, the
median of those ratios, that fixed cost, the requests of each side (the replica's
``/_replica/stats``) next to an estimated floor (see ``floor``) and the paths each side asked for
most (``/_replica/stats/paths``, ids folded), and writes the tables between the ``vs-seed``
markers of docs/pipeline.md.

The seed's reader hard-codes the real API's base URL; the run script redirects that prefix to the
replica in ``requests.Session.request`` and ``rasterio.open``. Its L2B look-up only knows the
``v3a``/``v3c`` collections, so the default window (2026-03-04..13 of the demo world) is a v3c-era
one where its crops resolve.

    python bench/vs_seed_reader.py [--first 2026-03-04] [--last 2026-03-13] [--pairs 2] [--no-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from doc_blocks import write_block

# A figure worker (multiprocessing's spawn) re-imports this script as __mp_main__: there it imports
# nothing more, as a worker of a run Dagster launches (`python -m dagster`, never re-imported).
if __name__ != "__mp_main__":
    import requests
    from dagster import DagsterInstance

    from cm_assets.definitions import build_definitions
    from cm_assets.defs.figures import shutdown_pools
    from cm_assets.defs.resources import CarbonMapperResource, StorageResource
    from cm_assets.defs.partitions import OBSERVATION_START
    from cm_assets.demo import range_tags
    from cm_assets.replica.process import ReplicaProcess
    from cm_assets.sql.query import run_query

BENCH = Path(__file__).resolve().parent
DOCS = BENCH.parent / "docs" / "pipeline.md"
SEED_PACKAGE = "georeader-spaceml[carbonmapper]==2.4.2"
SEED_RUN = BENCH / "seed_reader_run.py"
SETTINGS = {"loopback": [], "+100 ms per request": ["--slow-rate", "1", "--slow-ms", "100"]}
#: L2B crop padding of both sides (cm_assets' default).
PAD_PX = 64
#: The floor, as counted here: one login; one catalog page per listing; each per-plume product file
#: whole in one request; per scene one resolution and one header read per band cropped; per crop one
#: block read per band; per source one request. Products per plume: 7; bands: the seed crops 3,
#: cm_assets 4 (with the artifact mask).
PRODUCTS, SEED_BANDS, CM_BANDS = 7, 3, 4


def seed_python(venv: Path) -> Path:
    """The seed venv's interpreter, creating the venv and installing the pinned reader when missing."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import georeader.readers.carbonmapper"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    uv = Path(sys.executable).with_name("uv")
    uv_cmd = str(uv) if uv.exists() else shutil.which("uv")
    print(f"creating {venv} with {SEED_PACKAGE} ...", flush=True)
    if uv_cmd:
        subprocess.run([uv_cmd, "venv", "-q", "-p", "3.11", str(venv)], check=True)
        subprocess.run([uv_cmd, "pip", "install", "-q", "-p", str(python), SEED_PACKAGE], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SEED_PACKAGE], check=True)
    subprocess.run(probe, check=True)
    return python


def _reset(replica: ReplicaProcess) -> None:
    requests.post(f"{replica.admin_url}/stats/reset", timeout=30).raise_for_status()


def _requests(replica: ReplicaProcess) -> dict:
    stats = requests.get(f"{replica.admin_url}/stats", timeout=30).json()
    paths = requests.get(f"{replica.admin_url}/stats/paths", timeout=30).json()["paths"]
    return {"total": stats["requests"], "by_class": {k: v["requests"] for k, v in stats["classes"].items()},
            "paths": paths}


def _server_cpu(replica: ReplicaProcess) -> float:
    """CPU seconds the replica process has used so far (user + system; Linux ``/proc``)."""
    fields = Path(f"/proc/{replica.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _cm_assets_cpu() -> float:
    """This process and its finished children: the figure workers, once stopped (the seed's reader,
    also a child, is counted before and after its own pass only)."""
    return _own_cpu(resource.RUSAGE_SELF) + _own_cpu(resource.RUSAGE_CHILDREN)


def run_seed(python: Path, replica: ReplicaProcess, first: str, last: str, home: Path) -> dict:
    """One sequential pass of the seed's reader; its result plus the requests it made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARBONMAPPER_", "GDAL_", "CPL_"))}
    env.update(CARBONMAPPER_EMAIL=replica.email, CARBONMAPPER_PASSWORD=replica.password, HOME=str(home))
    _reset(replica)
    server, client = _server_cpu(replica), _own_cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(python), str(SEED_RUN), replica.api_url, first, last, str(PAD_PX)],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = {"server_cpu_s": _server_cpu(replica) - server,
           "client_cpu_s": _own_cpu(resource.RUSAGE_CHILDREN) - client}  # its whole process, imports too
    if done.returncode != 0:
        raise RuntimeError(f"the seed's reader failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_wall_s": wall, **cpu,
            "requests": _requests(replica)}


def run_cm_assets(replica: ReplicaProcess, root: Path, first: str, last: str) -> dict:
    """refresh_all over ``first``..``last`` into an empty ``root`` (emptied first: nothing reused);
    wall, counts and requests."""
    shutil.rmtree(root, ignore_errors=True)
    os.environ["CARBONMAPPER_EMAIL"], os.environ["CARBONMAPPER_PASSWORD"] = replica.email, replica.password
    os.environ.pop("CARBONMAPPER_TOKEN", None)
    defs = build_definitions(CarbonMapperResource(api_url=replica.api_url), StorageResource(root=str(root)))
    _reset(replica)
    server, client = _server_cpu(replica), _cm_assets_cpu()
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:  # disposed here, not by a later collection on another thread
        result = defs.resolve_job_def("refresh_all").execute_in_process(
            tags=range_tags(first, last), instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    wall = time.perf_counter() - started
    shutdown_pools()  # as in a new run process, the next run starts its own figure workers
    cpu = {"server_cpu_s": _server_cpu(replica) - server, "client_cpu_s": _cm_assets_cpu() - client}
    _, ((plumes, ch4, crops, scenes, sources),) = run_query(
        root / "cm.duckdb",
        "SELECT (SELECT count(*) FROM plumes), (SELECT count(*) FROM plumes WHERE gas = 'CH4'), "
        "(SELECT count(*) FROM scene_crops WHERE status = 'ok'), "
        "(SELECT count(DISTINCT scene_name) FROM scene_crops WHERE status = 'ok'), "
        "(SELECT count(*) FROM source_stats)")
    return {"wall_s": wall, **cpu, "success": result.success, "plumes": plumes, "ch4_plumes": ch4, "crops": crops,
            "scenes": scenes, "sources": sources, "requests": _requests(replica)}


def floor(plumes: int, scenes: int, crops: int, bands: int, sources: int, pages: int) -> int:
    """Requests that cannot be avoided (see the constants above)."""
    return 1 + pages + plumes * PRODUCTS + scenes * (1 + bands) + crops * bands + sources


def empty_window(days: int) -> tuple[str, str]:
    """As many days from the partitions' first day: no plume in the demo world, so a run over them
    costs what any ``refresh_all`` costs before its first plume (its fixed cost)."""
    start = date.fromisoformat(OBSERVATION_START)
    return start.isoformat(), (start + timedelta(days - 1)).isoformat()


def bench(first: str, last: str, pairs: int, work: Path, python: Path, scale: str = "demo") -> dict:
    days = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
    empty = empty_window(days)
    results: dict[str, dict[str, list[dict]]] = {}
    data_dir = work / "replica"
    for setting, extra in SETTINGS.items():
        with ReplicaProcess(data_dir, scale=scale, extra_args=extra) as replica:
            if not results:  # fill the replica's raster cache once; it stays on disk for the next setting
                print("warming the replica's cache ...", flush=True)
                run_cm_assets(replica, work / "warm", first, last)
            runs: dict[str, list[dict]] = {"seed": [], "cm_assets": [], "empty": []}
            for n in range(pairs):
                seed = run_seed(python, replica, first, last, work / "home")
                cm = run_cm_assets(replica, work / f"cm-{len(results)}-{n}", first, last)
                runs["seed"].append(seed)
                runs["cm_assets"].append(cm)
                runs["empty"].append(run_cm_assets(replica, work / "empty", *empty))
                print(f"{setting}, pair {n + 1}: seed's reader {seed['wall_s']:.1f} s "
                      f"({seed['plumes']} CH4 plumes, {seed['plumes_with_a_failed_step']} with a failed step), "
                      f"cm_assets {cm['wall_s']:.1f} s ({cm['plumes']} plumes, {cm['crops']} crops, "
                      f"success={cm['success']}): seed / cm_assets = {seed['wall_s'] / cm['wall_s']:.2f}; "
                      f"CPU s (process / replica): seed {seed['client_cpu_s']:.1f} / {seed['server_cpu_s']:.1f}, "
                      f"cm_assets {cm['client_cpu_s']:.1f} / {cm['server_cpu_s']:.1f}",
                      flush=True)
            results[setting] = runs
    return {"window": f"{first} .. {last}", "days": days, "empty_window": " .. ".join(empty), "results": results}


def render(report: dict) -> str:
    lines = [f"Window {report['window']}, warm replica cache, A B A B "
             f"(`python bench/vs_seed_reader.py`, {SEED_PACKAGE}):", "",
             "| | seed's reader (sequential, CH4: 7 products + 3 crops + source per plume) "
             "| cm_assets `refresh_all` (everything it does) | per pair: seed / cm_assets "
             "| median of the pairs' ratios |",
             "|---|---|---|---|---|"]
    for setting, runs in report["results"].items():
        seed = [r["wall_s"] for r in runs["seed"]]
        cm = [r["wall_s"] for r in runs["cm_assets"]]
        ratios = [s / c for s, c in zip(seed, cm)]
        lines.append(f"| {setting} | {', '.join(f'{s:.1f}' for s in seed)} s "
                     f"| {', '.join(f'{c:.1f}' for c in cm)} s | {', '.join(f'{r:.2f}×' for r in ratios)} "
                     f"| **{statistics.median(ratios):.2f}×** |")  # each pair ran side by side
    cells = []
    for setting, runs in report["results"].items():
        walls = [r["wall_s"] for r in runs["empty"]]
        found = max(r["plumes"] for r in runs["empty"])
        cells.append(f"{setting}: {', '.join(f'{w:.2f}' for w in walls)} s"
                     + (f" ({found} plumes found)" if found else ""))
    loop_seed = statistics.median(r["wall_s"] for r in report["results"]["loopback"]["seed"])
    lines += ["", f"What any `refresh_all` costs before its first plume (a Dagster run of the graph, "
              f"the warehouse): {report['days']} days without plumes ({report['empty_window']}), "
              f"one run per pair: {'; '.join(cells)}. 3× the seed's reader at loopback would need "
              f"{loop_seed / 3:.2f} s for the whole run."]
    lines += ["", "| CPU seconds, median of the pairs (2 cores) | seed's reader: its process (imports included) / the replica "
              "| cm_assets: its process and figure workers / the replica |", "|---|---|---|"]
    for setting, runs in report["results"].items():
        cells = [f"{statistics.median(r['client_cpu_s'] for r in runs[side]):.1f} / "
                 f"{statistics.median(r['server_cpu_s'] for r in runs[side]):.1f}" for side in ("seed", "cm_assets")]
        lines.append(f"| {setting} | {cells[0]} | {cells[1]} |")
    loop = report["results"]["loopback"]
    seed_run, cm_run = loop["seed"][0], loop["cm_assets"][0]
    # the seed reads one scene per CH4 plume (no sharing) and looks up every plume's source
    seed_floor = floor(seed_run["plumes"], seed_run["plumes"], seed_run["plumes"], SEED_BANDS,
                       seed_run["plumes"], pages=1)
    # cm_assets: a catalog page per day, the source listing and one detail per source
    cm_floor = floor(cm_run["plumes"], cm_run["scenes"], cm_run["crops"], CM_BANDS, 1 + cm_run["sources"],
                     pages=report["days"])
    lines += ["", "| requests (loopback, first pair) | total | per plume | estimated floor | total / floor | by class |",
              "|---|---|---|---|---|---|"]
    for name, run, least in ((f"seed's reader ({seed_run['plumes']} CH4 plumes)", seed_run, seed_floor),
                             (f"cm_assets ({cm_run['plumes']} plumes, {cm_run['crops']} crops on "
                              f"{cm_run['scenes']} scenes, {cm_run['sources']} sources)", cm_run, cm_floor)):
        total = run["requests"]["total"]
        lines.append(f"| {name} | {total} | {total / max(run['plumes'], 1):.1f} | {least} | {total / least:.2f} | "
                     + ", ".join(f"{k} {v}" for k, v in sorted(run["requests"]["by_class"].items())) + " |")
    return "\n".join(lines)


def repeated_paths(run: dict, top: int = 8) -> list[str]:
    """The paths a run asked for most often (ids folded into ``{id}`` patterns)."""
    folded: dict[str, int] = {}
    for path, count in run["requests"]["paths"].items():
        pattern = re.sub(r"/[A-Za-z]{3}\d{8}t\d{6}[a-z0-9]*(-[A-Z0-9]+)?", "/{id}", path)
        pattern = re.sub(r"/(CH4|CO2)_[^/]+", "/{source}", pattern)
        pattern = re.sub(r"/\d{4}/\d{2}/\d{2}/", "/{date}/", pattern)
        folded[pattern] = folded.get(pattern, 0) + count
    return [f"{count:6d}  {pattern}" for pattern, count in sorted(folded.items(), key=lambda kv: -kv[1])[:top]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", default="2026-03-04")
    parser.add_argument("--last", default="2026-03-13")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--seed-venv", type=Path, default=BENCH / ".seed-venv")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    python = seed_python(args.seed_venv)
    with tempfile.TemporaryDirectory(prefix="vs-seed-") as tmp:
        work = args.work or Path(tmp)
        report = bench(args.first, args.last, args.pairs, work, python)
    table = render(report)
    print(table)
    for side in ("seed", "cm_assets"):
        print(f"\nmost requested paths, {side} (loopback, first pair):")
        print("\n".join(repeated_paths(report["results"]["loopback"][side][0])))
    if not args.no_docs:
        write_block("vs-seed", table, DOCS)
    ok = all(r["success"] for runs in report["results"].values() for r in runs["cm_assets"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
