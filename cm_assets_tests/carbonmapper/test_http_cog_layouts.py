"""Reading a COG by byte ranges, file layouts the replica does not make: headers longer than the
first fetch, tiles held by the header, files that are not COGs. Served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from cm_assets.carbonmapper import CarbonMapperClient, cog_ranges
from cm_assets.carbonmapper.cog_ranges import merged_spans

from ._servers import Recorder, recording_server


@pytest.fixture
def served() -> Iterator[tuple[CarbonMapperClient, Recorder]]:
    with recording_server() as server, CarbonMapperClient(server.url + "/api/v1") as client:
        yield client, server


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


def _read(served: tuple[CarbonMapperClient, Recorder], path: Path, window: Window | None) -> np.ndarray:
    client, server = served
    server.files["/" + path.name] = path.read_bytes()
    with client.assets.open_cog("cmf", f"{server.url}/{path.name}") as cog:
        return cog.read(window).values


def _ranges(server: Recorder) -> list[str]:
    return [f"{method} {headers.get('Range', '')}" for method, _, headers in server.seen]


def test_a_window_fetches_the_header_then_its_tiles_in_one_range(served, tmp_path):
    values = _write(tmp_path / "a.tif", 1024, compress="DEFLATE", overviews="NONE")
    window = Window(200, 300, 150, 120)  # 2 x 2 tiles of 256, on two rows of tiles
    np.testing.assert_array_equal(_read(served, tmp_path / "a.tif", window), values[:, 300:420, 200:350])
    assert len(_ranges(served[1])) == 2 and _ranges(served[1])[0] == f"GET bytes=0-{cog_ranges.HEADER_BYTES - 1}"


def test_a_header_longer_than_the_first_fetch_is_fetched_again_longer(served, tmp_path):
    path = tmp_path / "long-header.tif"
    values = _write(path, 512, note="x" * (3 * cog_ranges.HEADER_BYTES), overviews="NONE")
    np.testing.assert_array_equal(_read(served, path, Window(10, 10, 20, 20)), values[:, 10:30, 10:30])
    headers = [r for r in _ranges(served[1]) if r.startswith("GET bytes=0-")]
    longer = cog_ranges.HEADER_BYTES * cog_ranges.GROWTH
    assert headers == [f"GET bytes=0-{cog_ranges.HEADER_BYTES - 1}", f"GET bytes=0-{longer - 1}"]
    assert not any(r.startswith("HEAD") for r in _ranges(served[1]))  # not read through GDAL


def test_a_given_header_too_short_is_fetched_again_longer(served, tmp_path):
    """A look-up's probe handed over as the header, but the directory is longer: fetched once more,
    :data:`~cm_assets.carbonmapper.cog_ranges.GROWTH` times the bytes given."""
    client, server = served
    path = tmp_path / "long-header.tif"
    values = _write(path, 512, note="x" * (3 * cog_ranges.HEADER_BYTES), overviews="NONE")
    data = server.files["/" + path.name] = path.read_bytes()
    given = (data[:cog_ranges.HEADER_BYTES], len(data))
    with client.assets.open_cog("cmf", f"{server.url}/{path.name}", given) as cog:
        np.testing.assert_array_equal(cog.read(Window(10, 10, 20, 20)).values, values[:, 10:30, 10:30])
    longer = cog_ranges.HEADER_BYTES * cog_ranges.GROWTH
    assert [r for r in _ranges(server) if r.startswith("GET bytes=0-")] == [f"GET bytes=0-{longer - 1}"]


def test_tiles_inside_the_header_fetched_cost_nothing_more(served, tmp_path):
    values = _write(tmp_path / "small.tif", 32, overviews="NONE")  # 4 KB of values
    np.testing.assert_array_equal(_read(served, tmp_path / "small.tif", None), values)
    assert _ranges(served[1]) == [f"GET bytes=0-{cog_ranges.HEADER_BYTES - 1}"]


def test_a_file_whose_header_is_not_at_its_start_is_read_through_gdal(served, tmp_path, monkeypatch):
    monkeypatch.setattr(cog_ranges, "MAX_HEADER_BYTES", cog_ranges.HEADER_BYTES)
    path = tmp_path / "striped.tif"
    values = np.random.default_rng(1).random((1, 600, 600), dtype="float32")  # 1.4 MB, incompressible
    with rasterio.open(path, "w", driver="GTiff", width=600, height=600, count=1, dtype="float32",
                       crs="EPSG:32611", transform=from_origin(0, 0, 1, 1)) as dataset:
        dataset.write(values)
        dataset.update_tags(note="x" * (2 * cog_ranges.HEADER_BYTES))  # the directory grows past the start
    np.testing.assert_array_equal(_read(served, path, Window(5, 5, 10, 10)), values[:, 5:15, 5:15])
    assert any(r.startswith("HEAD") for r in _ranges(served[1]))  # GDAL's size probe: it read the file


@pytest.mark.parametrize(("ranges", "spans"), [
    ([], []),
    ([(100, 200), (250, 300)], [(100, 300)]),
    ([(500, 600), (100, 200)], [(100, 200), (500, 600)]),
    ([(100, 200), (150, 180)], [(100, 200)]),
])
def test_neighbouring_ranges_are_joined(ranges, spans):
    assert merged_spans(ranges, gap=100) == spans
