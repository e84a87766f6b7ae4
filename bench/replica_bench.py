"""Replica benchmark: start-up (cold and from the world cache), a 1000-item plume page, assets;
with ``--throughput``, the HTTP layer's requests/s and server CPU per request.

    .venv/bin/python bench/replica_bench.py [--scale full] [--end 2026-11-24] [--no-write]
    .venv/bin/python bench/replica_bench.py --throughput [--seconds 2] [--rounds 3]

Prints a table and (unless ``--no-write``) replaces the figures block in docs/replica.md. The
throughput mode starts a tiny replica and measures, ``--rounds`` times each, requests/s and server
CPU ms per request (from ``/proc``: robust when the client shares the cores) of two small JSON
answers, a 100-item catalog page and a 16 KB Range read of a cached COG from the CDN, at several
client concurrencies; it prints its table without writing docs.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from cm_assets.replica.process import ReplicaProcess
from doc_blocks import README, write_block

DOC = Path(__file__).resolve().parent.parent / "docs" / "replica.md"


def _timed(call: Callable[[], requests.Response]) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = call()
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response


def run(scale: str, end: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as data_dir:
        def start(label: str) -> ReplicaProcess:
            started = time.perf_counter()
            replica = ReplicaProcess(data_dir, scale=scale, end=end, ready_timeout=300,
                                     extra_args=["--clock-start", f"{end}T23:59:59Z"]).start()
            rows.append((f"start-up to ready ({label})", f"{time.perf_counter() - started:.2f} s"))
            return replica

        start("cold: builds the world").stop()
        replica = start("restart: world cache")
        try:
            session = requests.Session()
            token = session.post(f"{replica.api_url}/token/pair", timeout=60, json={
                "email": replica.email, "password": replica.password}).json()["access"]
            session.headers["Authorization"] = f"Bearer {token}"
            url = f"{replica.api_url}/catalog/plumes/annotated"
            for label in ("first", "second"):
                ms, page = _timed(lambda: session.get(url, params={"limit": 1000}, timeout=120))
                body = page.json()
                rows.append((f"plumes/annotated limit=1000 ({label})",
                             f"{ms:.0f} ms, {len(page.content) / 1e6:.2f} MB, "
                             f"total_count {body['total_count']}"))
            record = next(r for r in body["items"] if r.get("plume_tif"))
            assets = [("L3A plume.tif", record["plume_tif"].split("?")[0].replace(
                replica.cdn_url, f"{replica.api_url}/catalog/asset"))]
            stac = session.get(f"{replica.api_url}/stac/search", timeout=60, params={
                "collections": "l2b-ch4-mfa-v3a", "limit": 1}).json()
            assets.append(("L2B cmf.tif", stac["features"][0]["assets"]["cmf.tif"]["href"]))
            for name, asset_url in assets:
                for label in ("generated", "cached"):
                    ms, response = _timed(lambda: session.get(asset_url, timeout=300))
                    rows.append((f"{name} ({label})",
                                 f"{ms:.0f} ms, {len(response.content) / 1e3:.0f} KB"))
        finally:
            replica.stop()
    return rows


CONCURRENCY = (1, 4, 16)


def _workloads(replica: ReplicaProcess) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (URL, headers) of each measured request, resolved once per replica."""
    session = requests.Session()
    token = session.post(f"{replica.api_url}/token/pair", timeout=60, json={
        "email": replica.email, "password": replica.password}).json()["access"]
    auth = {"Authorization": f"Bearer {token}"}
    page = session.get(f"{replica.api_url}/catalog/plumes/annotated", params={"limit": 100},
                       headers=auth, timeout=60).json()["items"]
    cog = next(r["plume_tif"] for r in page if r.get("plume_tif"))
    session.get(cog, timeout=120).raise_for_status()  # generate it once: reads are then cached
    plume = page[0]["plume_id"]
    return {
        "small JSON (STAC landing page)": (f"{replica.api_url}/stac/", {}),
        "small JSON (plume record)": (f"{replica.api_url}/catalog/plume/{plume}", auth),
        "catalog page (limit=100)": (f"{replica.api_url}/catalog/plumes/annotated?limit=100", auth),
        "cached COG Range 16 KB (CDN)": (cog, {"Range": "bytes=0-16383"}),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rate(url: str, headers: dict[str, str], clients: int, seconds: float,
          server_pid: int) -> tuple[float, float]:
    """(requests/s, server CPU ms per request) of ``clients`` threads (one keep-alive session
    each) requesting ``url`` for ``seconds``."""
    counts = [0] * clients
    stop = threading.Event()

    def client(k: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            session.get(url, headers=headers, timeout=60).raise_for_status()
            counts[k] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    cpu = _cpu_seconds(server_pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    wall, served = time.perf_counter() - started, sum(counts)
    return served / wall, (_cpu_seconds(server_pid) - cpu) * 1000 / max(served, 1)


def throughput(end: str, seconds: float, rounds: int) -> list[tuple[str, str]]:
    """Requests/s and server CPU ms per request per (workload, concurrency), ``rounds`` times."""
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as root:
        with ReplicaProcess(root, scale="tiny", end=end, ready_timeout=300,
                            extra_args=["--clock-start", f"{end}T23:59:59Z"]) as replica:
            work = _workloads(replica)
            for _ in range(rounds):
                for name, (url, headers) in work.items():
                    for clients in CONCURRENCY:
                        results.setdefault((name, clients), []).append(
                            _rate(url, headers, clients, seconds, replica.pid))
    return [(f"{name}, {clients} client{'s' * (clients > 1)}",
             " / ".join(f"{rate:.0f}" for rate, _ in values) + " req/s; server CPU "
             + " / ".join(f"{cpu:.2f}" for _, cpu in values) + " ms/req")
            for (name, clients), values in results.items()]


def render(rows: list[tuple[str, str]], scale: str) -> str:
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure'.ljust(width)} | value", f"{'-' * width}-|-{'-' * 40}"]
    lines += [f"{name.ljust(width)} | {value}" for name, value in rows]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return f"scale `{scale}`, {machine}\n\n```\n" + "\n".join(lines) + "\n```"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="full")
    parser.add_argument("--end", default="2026-11-24")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--throughput", action="store_true",
                        help="measure the HTTP layer's requests/s instead (tiny world)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell")
    args = parser.parse_args()
    if args.throughput:
        print(render(throughput(args.end, args.seconds, args.rounds), "tiny"))
        return 0
    table = render(run(args.scale, args.end), args.scale)
    print(table)
    if not args.no_write:
        write_block("replica-bench", table, DOC, README)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
