"""Bytes and requests the client spends on one plume's products and on L2B crops.

Starts its own replica (tiny world), picks a 2026-era Tanager plume whose L2B scene is published,
and measures with the replica's ``/_replica/stats`` counters:

* the seven per-plume products (whole small files; the floor is the sum of their sizes);
* L2B crops (outline + 64 px pad) of ``cmf`` and ``rgb``: windowed COG reads; the floor is the
  compressed size of the internal blocks the window touches (TileByteCounts via GDAL), against
  the whole-file download a naive reader makes.

Usage: ``python bench/client_bench.py [--write docs/client.md]``.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
from rasterio.warp import transform_bounds

from cm_assets.carbonmapper import CarbonMapperClient, SceneNotPublished
from cm_assets.carbonmapper.geo import window_block_bytes
from cm_assets.carbonmapper.products import PLUME_PRODUCTS
from cm_assets.carbonmapper.scenes import _window
from cm_assets.replica.process import ReplicaProcess
from doc_blocks import README, write_block

PAD_PX = 64


@dataclass
class Row:
    what: str
    requests: int
    served: int
    floor: int
    whole_file: int

    def cells(self) -> list[str]:
        return [self.what, str(self.requests), f"{self.served:,}", f"{self.floor:,}",
                f"{self.served / self.floor:.2f}" if self.floor else "-", f"{self.whole_file:,}"]


class Stats:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def reset(self) -> None:
        requests.post(f"{self.admin_url}/stats/reset", timeout=30).raise_for_status()

    def assets(self) -> tuple[int, int]:
        body = requests.get(f"{self.admin_url}/stats", timeout=30).json()
        served = body["classes"].get("asset", {"requests": 0, "bytes": 0})
        return served["requests"], served["bytes"]


def file_size(client: CarbonMapperClient, url: str) -> int:
    response = client.transport.request("GET", url, headers={"Range": "bytes=0-1"})
    return int(response.headers["Content-Range"].rsplit("/", 1)[1])


def run(replica: ReplicaProcess) -> tuple[str, list[Row]]:
    client = CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)
    stats = Stats(replica.admin_url)
    for plume in client.iter_plumes(gas="CH4", instruments=["tan"], page_size=50,
                                    observed=("2026-01-01T00:00:00Z", "2026-10-01T00:00:00Z")):
        try:
            scene = client.scene_for_plume(plume)
            break
        except SceneNotPublished:
            continue
    else:
        raise SystemExit("no plume with a published scene")
    products = client.plume_products(plume)
    sizes = {name: file_size(client, url) for name, url in products.urls.items()}
    rows: list[Row] = []

    stats.reset()
    for name in PLUME_PRODUCTS:
        getattr(products, name)
    n, served = stats.assets()
    total = sum(sizes.values())
    rows.append(Row("7 per-plume products", n, served, total, total))

    outline = products.outline
    for band in ("cmf", "rgb"):
        stats.reset()
        crop = scene.crop(band, outline, pad_px=PAD_PX)
        n, served = stats.assets()
        url = scene.urls[band]  # after crop: the first read settles the rgb candidate
        whole = file_size(client, url)
        with client.assets.open_raster(band, url) as ds:  # after the counting: the block layout
            bounds = transform_bounds("EPSG:4326", ds.crs, *outline.bounds, densify_pts=21)
            floor = window_block_bytes(ds, _window(ds, bounds, PAD_PX))
            blocks = ds.block_shapes[0]
        rows.append(Row(f"L2B {band} crop {crop.values.shape[2]}x{crop.values.shape[1]} px "
                        f"(blocks {blocks[1]}x{blocks[0]})", n, served, floor, whole))
    client.close()
    return f"{plume.plume_id} (L3A {plume.version}, L2B {scene.collection})", rows


def table(rows: list[Row]) -> str:
    head = ["read", "requests", "bytes served", "floor bytes", "served/floor", "whole file(s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="replace the figures block in this Markdown file and the README")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            ReplicaProcess(Path(tmp), seed=7, scale="tiny", end="2026-11-24",
                           extra_args=["--clock-start", "2026-11-25T00:00:00Z"]) as replica:
        subject, rows = run(replica)
    text = (f"Plume `{subject}`, replica `tiny` seed 7; floor = bytes that must move "
            f"(whole files for per-plume products; touched COG blocks for crops).\n\n{table(rows)}")
    print(text)
    if args.write:
        write_block("client-bench", text, args.write, README)


if __name__ == "__main__":
    main()
