"""Replica benchmark: start-up (cold and from the world cache), a 1000-item plume page, assets.

    .venv/bin/python bench/replica_bench.py [--scale full] [--end 2026-11-24] [--no-write]

Prints a table and (unless ``--no-write``) replaces the figures block in docs/replica.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from cm_assets.replica.process import ReplicaProcess

DOC = Path(__file__).resolve().parent.parent / "docs" / "replica.md"
BLOCK = re.compile(r"<!-- bench:start -->.*?<!-- bench:end -->", re.S)


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
    args = parser.parse_args()
    table = render(run(args.scale, args.end), args.scale)
    print(table)
    if not args.no_write and DOC.exists():
        text = DOC.read_text()
        block = f"<!-- bench:start -->\n{table}\n<!-- bench:end -->"
        DOC.write_text(BLOCK.sub(lambda _: block, text) if BLOCK.search(text)
                       else text + "\n" + block + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
