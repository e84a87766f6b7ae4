"""Reading a COG by byte ranges: headers longer than the first fetch, tiles held by the header,
files that are not COGs, and the joining of neighbouring ranges. Local files stand for the API."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from cm_assets.carbonmapper import cog_ranges
from cm_assets.carbonmapper.cog_ranges import RemoteCog, merged_spans


class LocalFiles:
    """The two reads :class:`RemoteCog` asks of the client's file access, over a local file."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        self.path = path
        self.ranges: list[tuple[int, int]] = []
        self.through_gdal = 0

    def fetch_range(self, key: str, url: str, start: int, end: int) -> tuple[bytes, int]:
        self.ranges.append((start, end))
        return self.data[start:end], len(self.data)

    @contextmanager
    def open_raster(self, key: str, url: str):
        self.through_gdal += 1
        with rasterio.open(self.path) as dataset:
            yield dataset


def _write(path: Path, size: int, note: str = "", **options) -> np.ndarray:
    values = np.arange(size * size, dtype="float32").reshape(1, size, size)
    profile = {"driver": "COG", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": "EPSG:32611", "transform": from_origin(500000, 4000000, 3, 3), "nodata": -9999,
               "blocksize": 256, **options}
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values)
        if note:
            dataset.update_tags(note=note)  # a GDAL metadata tag in the header
    return values


def _read(files: LocalFiles, window: Window | None) -> np.ndarray:
    with RemoteCog(files, "cmf", "https://api.example/cmf.tif") as cog:
        return cog.read(window).values


def test_a_window_fetches_the_header_then_its_tiles_in_one_range(tmp_path):
    values = _write(tmp_path / "a.tif", 1024, compress="DEFLATE", overviews="NONE")
    files = LocalFiles(tmp_path / "a.tif")
    window = Window(200, 300, 150, 120)  # 2 x 2 tiles of 256
    np.testing.assert_array_equal(_read(files, window), values[:, 300:420, 200:350])
    assert files.ranges[0] == (0, cog_ranges.HEADER_BYTES) and len(files.ranges) == 2
    assert files.through_gdal == 0


def test_a_header_longer_than_the_first_fetch_is_fetched_again_longer(tmp_path):
    path = tmp_path / "long-header.tif"
    values = _write(path, 512, note="x" * (3 * cog_ranges.HEADER_BYTES), overviews="NONE")
    files = LocalFiles(path)
    np.testing.assert_array_equal(_read(files, Window(10, 10, 20, 20)), values[:, 10:30, 10:30])
    headers = [r for r in files.ranges if r[0] == 0]
    assert headers[0] == (0, cog_ranges.HEADER_BYTES) and len(headers) >= 2 and files.through_gdal == 0


def test_tiles_inside_the_header_fetched_cost_nothing_more(tmp_path):
    values = _write(tmp_path / "small.tif", 32, overviews="NONE")  # 4 KB of values
    files = LocalFiles(tmp_path / "small.tif")
    np.testing.assert_array_equal(_read(files, None), values)
    assert files.ranges == [(0, cog_ranges.HEADER_BYTES)]


def test_a_file_whose_header_is_not_at_its_start_is_read_through_gdal(tmp_path, monkeypatch):
    monkeypatch.setattr(cog_ranges, "MAX_HEADER_BYTES", cog_ranges.HEADER_BYTES)
    path = tmp_path / "striped.tif"
    values = np.random.default_rng(1).random((1, 600, 600), dtype="float32")  # 1.4 MB, incompressible
    with rasterio.open(path, "w", driver="GTiff", width=600, height=600, count=1, dtype="float32",
                       crs="EPSG:32611", transform=from_origin(0, 0, 1, 1)) as dataset:
        dataset.write(values)
        dataset.update_tags(note="x" * (2 * cog_ranges.HEADER_BYTES))  # the directory grows past the start
    files = LocalFiles(path)
    np.testing.assert_array_equal(_read(files, Window(5, 5, 10, 10)), values[:, 5:15, 5:15])
    assert files.through_gdal == 1


@pytest.mark.parametrize(("ranges", "spans"), [
    ([], []),
    ([(100, 200), (250, 300)], [(100, 300)]),
    ([(500, 600), (100, 200)], [(100, 200), (500, 600)]),
    ([(100, 200), (150, 180)], [(100, 200)]),
])
def test_neighbouring_ranges_are_joined(ranges, spans):
    assert merged_spans(ranges, gap=100) == spans
