"""Atomic writes: a failed write leaves neither a partial file nor a temporary one."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from cm_assets.storage.store import Storage

pytestmark = pytest.mark.fast


class Boom(Exception):
    pass


@pytest.mark.parametrize("root", ["local", "memory://cm-assets-test"])
def test_failed_write_publishes_nothing_and_keeps_the_old_file(tmp_path, root):
    store = Storage(str(tmp_path) if root == "local" else root)
    store.write_parquet(pd.DataFrame({"a": [1, 2]}), "t/day=2026-01-01.parquet")
    with pytest.raises(Boom):
        with store.atomic("t/day=2026-01-01.parquet") as tmp:
            with store.fs.open(tmp, "wb") as fh:
                fh.write(b"half a parquet file")
            raise Boom
    assert store.glob("t/*") == ["t/day=2026-01-01.parquet"]
    assert store.fs.glob(store._full("t/.*")) == []
    assert list(store.read_parquet("t/day=2026-01-01.parquet")["a"]) == [1, 2]
    store.write_parquet(pd.DataFrame({"a": [3]}), "t/day=2026-01-01.parquet")
    assert list(store.read_parquet("t/day=2026-01-01.parquet")["a"]) == [3]


def test_stale_temporaries_of_killed_writes_are_removed_live_ones_kept(tmp_path):
    store = Storage(str(tmp_path))
    (tmp_path / "products" / "p").mkdir(parents=True)
    stale = [tmp_path / "products" / ".day=2026-10-01.parquet.0a1b2c3d4e5f.tmp",
             tmp_path / "products" / "p" / ".mask.tif.x1y2z3.tmp"]
    live = tmp_path / "products" / "p" / ".rgb.tif.q9w8e7.tmp"
    other_day = tmp_path / "products" / ".day=2026-10-02.parquet.0a1b2c3d4e5f.tmp"
    published = tmp_path / "products" / "p" / "mask.tif"
    for path in [*stale, live, other_day, published]:
        path.write_bytes(b"x")
    for path in [*stale, other_day, published]:
        os.utime(path, (time.time() - 3600,) * 2)
    assert store.remove_stale_temporaries(["products"], ["day=2026-10-01.parquet"]) == [
        "products/.day=2026-10-01.parquet.0a1b2c3d4e5f.tmp"]
    assert store.remove_stale_temporaries(["products/p", "products/absent"]) == ["products/p/.mask.tif.x1y2z3.tmp"]
    assert live.exists() and other_day.exists() and published.exists()
    assert not any(path.exists() for path in stale)


@pytest.mark.parametrize("root", ["local", "memory://cm-assets-parts-test"])
def test_parts_are_the_files_write_parquet_writes_of_the_same_rows(tmp_path, root):
    import json

    import geopandas as gpd
    import pyarrow.parquet as pq
    from shapely.geometry import LineString, Point, Polygon

    store = Storage(str(tmp_path) if root == "local" else root)
    frame = gpd.GeoDataFrame(
        {"day": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]},
        geometry=[Point(1, 2), Polygon([(5, 5), (6, 5), (6, 7)]), Point(-3, 4, 1), LineString([(0, 0), (9, 9)])],
        crs="EPSG:4326")
    parts = {"p/a.parquet": [0, 2], "p/b.parquet": [1], "p/none.parquet": []}
    store.write_parquet_parts(frame, parts)
    for rel, rows in parts.items():
        store.write_parquet(frame.iloc[rows].reset_index(drop=True), rel.replace("p/", "q/"))
        with store.fs.open(store._full(rel)) as part, store.fs.open(store._full(rel.replace("p/", "q/"))) as whole:
            mine, theirs = pq.read_schema(part), pq.read_schema(whole)
        assert json.loads(mine.metadata[b"geo"]) == json.loads(theirs.metadata[b"geo"]), rel
        assert mine.remove_metadata() == theirs.remove_metadata()
        pd.testing.assert_frame_equal(store.read_parquet(rel), store.read_parquet(rel.replace("p/", "q/")))
    geo = json.loads(pq.read_schema(str(tmp_path / "p/a.parquet")).metadata[b"geo"]) if root == "local" else None
    if geo:
        assert geo["columns"]["geometry"]["geometry_types"] == ["Point", "Point Z"]
        assert geo["columns"]["geometry"]["bbox"] == [-3.0, 2.0, 1.0, 4.0]
    assert store.glob("p/.*") == []


def test_parts_of_a_plain_frame(tmp_path):
    store = Storage(str(tmp_path))
    store.write_parquet_parts(pd.DataFrame({"a": [1, 2, 3]}), {"t/x.parquet": [2, 0], "t/y.parquet": []})
    assert list(store.read_parquet("t/x.parquet")["a"]) == [3, 1]
    assert store.read_parquet("t/y.parquet").empty and list(store.read_parquet("t/y.parquet")) == ["a"]


@pytest.mark.parametrize("vanishes_during", ["modified", "rm"])
def test_a_temporary_published_by_a_concurrent_run_meanwhile_is_left_alone(tmp_path, monkeypatch, vanishes_during):
    """Parallel runs share a table's directory: another run's write may rename its temporary into
    place between this run's listing and its age check or removal."""
    store = Storage(str(tmp_path))
    (tmp_path / "catalog").mkdir()
    theirs = tmp_path / "catalog" / ".day=2026-09-01.parquet.1df246e2.tmp"
    killed = tmp_path / "catalog" / ".day=2026-09-02.parquet.77aa88bb.tmp"
    for path in (theirs, killed):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 3600,) * 2)
    real = getattr(store.fs, vanishes_during)

    def published_first(path, *args, **kwargs):
        if path.endswith(theirs.name):
            theirs.rename(tmp_path / "catalog" / "day=2026-09-01.parquet")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store.fs, vanishes_during, published_first)
    assert store.remove_stale_temporaries(["catalog"]) == ["catalog/.day=2026-09-02.parquet.77aa88bb.tmp"]
    assert (tmp_path / "catalog" / "day=2026-09-01.parquet").exists() and not killed.exists()
