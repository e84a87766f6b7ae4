"""``cm-assets export`` on a built warehouse, read back with pyogrio and GDAL's ``ogrinfo``."""

from __future__ import annotations

import shutil
import subprocess

import pyogrio
import pytest
import shapely

from cm_assets.cli import main
from cm_assets.sql.query import run_query
from cm_assets_tests.helpers.graph import build_graph, pick_days

LAYERS = ("plumes", "outlines", "sources", "crop_footprints")
KINDS = {"plumes": "Point", "outlines": "MultiPolygon", "sources": "Point", "crop_footprints": "MultiPolygon"}


@pytest.fixture(scope="module")
def warehouse(replica, tmp_path_factory):
    built = build_graph(replica, tmp_path_factory.mktemp("export-graph"), pick_days(replica, count=1))
    assert built.result.success
    return built.database


def _count(database, sql: str) -> int:
    return run_query(database, sql)[1][0][0]


def expected_rows(database) -> dict[str, int]:
    return {"plumes": _count(database, "SELECT count(*) FROM plumes"),
            "outlines": _count(database, "SELECT count(*) FROM plume_products WHERE geometry IS NOT NULL"),
            "sources": _count(database, "SELECT count(*) FROM sources WHERE geometry IS NOT NULL"),
            "crop_footprints": _count(database, "SELECT count(*) FROM scene_crops WHERE status = 'ok'")}


def _files(out, fmt):
    return {layer: out / "cm_assets.gpkg" for layer in LAYERS} if fmt == "gpkg" else \
        {layer: out / f"{layer}.{fmt}" for layer in LAYERS}


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "geojson"])
def test_export_reads_back_with_pyogrio(warehouse, tmp_path, fmt, capsys):
    expected = expected_rows(warehouse)
    assert expected["plumes"] and expected["outlines"] and expected["sources"]
    out = tmp_path / fmt
    assert main(["export", "--format", fmt, "--db", str(warehouse), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    plume_ids = {row[0] for row in run_query(warehouse, "SELECT plume_id FROM plumes")[1]}
    for layer, path in _files(out, fmt).items():
        assert str(path) in printed
        info = pyogrio.read_info(path, layer=layer)
        assert info["features"] == expected[layer], layer
        assert info["geometry_type"] == KINDS[layer]
        assert info["crs"] == "EPSG:4326"
        frame = pyogrio.read_dataframe(path, layer=layer)
        assert shapely.is_valid(frame.geometry.values).all()
        if layer in ("plumes", "outlines", "crop_footprints") and len(frame):
            assert set(frame["plume_id"]) <= plume_ids
    plumes = pyogrio.read_dataframe(_files(out, fmt)["plumes"], layer="plumes")
    assert {"emission_auto", "instrument", "scene_timestamp", "sector"} <= set(plumes.columns)
    lon = dict(run_query(warehouse, "SELECT plume_id, lon FROM plumes")[1])
    assert all(abs(p.x - lon[pid]) < 1e-9 for pid, p in zip(plumes["plume_id"], plumes.geometry))
    if fmt == "gpkg":
        assert sorted(pyogrio.list_layers(out / "cm_assets.gpkg")[:, 0]) == sorted(LAYERS)
    assert not list(out.glob(".*")), "temporary files left behind"


def test_export_where_filters_every_layer(warehouse, tmp_path):
    [(gas, count)] = run_query(warehouse, "SELECT gas, count(*) FROM plumes GROUP BY gas ORDER BY 2 DESC LIMIT 1")[1]
    out = tmp_path / "filtered"
    assert main(["export", "--format", "gpkg", "--db", str(warehouse), "--out", str(out),
                 "--where", f"gas = '{gas}'"]) == 0
    plumes = pyogrio.read_dataframe(out / "cm_assets.gpkg", layer="plumes")
    assert len(plumes) == count and set(plumes["gas"]) == {gas}
    outlines = pyogrio.read_dataframe(out / "cm_assets.gpkg", layer="outlines")
    assert set(outlines["plume_id"]) <= set(plumes["plume_id"])


def test_export_bad_predicate_writes_nothing(warehouse, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["export", "--db", str(warehouse), "--out", str(out), "--where", "no_such_column = 1"]) == 1
    assert "no_such_column" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_export_opens_in_gdal_ogrinfo(warehouse, tmp_path):
    if shutil.which("ogrinfo") is None:
        pytest.skip("ogrinfo not installed (Debian gdal-bin; `make test` installs it when run as root)")
    expected = expected_rows(warehouse)
    for fmt in ("gpkg", "fgb", "geojson"):
        out = tmp_path / fmt
        assert main(["export", "--format", fmt, "--db", str(warehouse), "--out", str(out)]) == 0
        for layer, path in _files(out, fmt).items():
            text = subprocess.run(["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True,
                                  text=True, check=True, timeout=60).stdout
            assert f"Feature Count: {expected[layer]}" in text, text
            assert f"Geometry: {'Multi Polygon' if KINDS[layer] == 'MultiPolygon' else 'Point'}" in text, text
