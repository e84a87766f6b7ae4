"""REST catalog routes: envelopes, paging math, filters, CSV exports, sources, scenes, errors."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from cm_assets_tests.replica._http import TIMEOUT, bearer, login


def _get(replica, path, params=None, **kwargs):
    return requests.get(f"{replica.api_url}{path}", params=params, timeout=TIMEOUT, **kwargs)


def _plumes(replica, **params):
    response = _get(replica, "/catalog/plumes/annotated", params)
    assert response.status_code == 200, response.text
    return response.json()


def test_envelope_and_paging_math(replica):
    first = _plumes(replica, limit=7, offset=0, sort="asc")
    assert set(first) == {"items", "total_count", "bbox_count", "limit", "offset",
                          "nearby_items"}
    assert (first["limit"], first["offset"], first["nearby_items"]) == (7, 0, [])
    total = first["total_count"]
    assert total > 100 and len(first["items"]) == 7
    second = _plumes(replica, limit=7, offset=7, sort="asc")
    assert second["total_count"] == total
    ids = [p["id"] for p in first["items"] + second["items"]]
    assert len(set(ids)) == 14
    big = _plumes(replica, limit=1000, sort="asc")
    assert [p["id"] for p in big["items"][:14]] == ids
    tail = _plumes(replica, limit=1000, offset=total - 3)
    assert len(tail["items"]) == 3
    assert _plumes(replica, limit=5, offset=total + 10)["items"] == []


def test_record_shape_and_sorting(replica):
    items = _plumes(replica, limit=50)["items"]
    record = items[0]
    for key in ("id", "plume_id", "gas", "geometry_json", "scene_id", "scene_timestamp",
                "instrument", "emission_auto", "plume_tif", "con_tif", "plume_png", "rgb_png",
                "plume_rgb_png", "plume_bounds", "collection", "sector", "status",
                "published_at", "modified", "emission_version"):
        assert key in record
    assert record["geometry_json"]["type"] == "Point"
    stamps = [p["scene_timestamp"] for p in items]
    assert stamps == sorted(stamps, reverse=True)
    by_emission = _plumes(replica, limit=50, sort="emissions_desc")["items"]
    values = [p["emission_auto"] for p in by_emission if p["emission_auto"] is not None]
    assert values == sorted(values, reverse=True)


def test_filters(replica):
    total = _plumes(replica, limit=1)["total_count"]
    assert _plumes(replica, limit=1, gas="CH4")["total_count"] == total  # unknown: ignored
    ch4 = _plumes(replica, limit=1000, plume_gas="CH4")
    assert all(p["gas"] == "CH4" for p in ch4["items"])
    assert ch4["total_count"] < total
    gao = _plumes(replica, limit=1000, instrument="GAO")
    assert gao["total_count"] > 0 and all(p["instrument"] == "GAO" for p in gao["items"])
    both = _plumes(replica, limit=1, instruments=["GAO", "tan"])["total_count"]
    assert both > gao["total_count"]
    sectors = _plumes(replica, limit=1000, sectors=["1B2", "6A"])
    assert {p["sector"] for p in sectors["items"]} <= {"1B2", "6A"}
    bbox = _plumes(replica, limit=1000, bbox=[-105, 30, -100, 34])
    assert 0 < bbox["total_count"] < total
    for p in bbox["items"]:
        lon, lat = p["geometry_json"]["coordinates"]
        assert -105 <= lon <= -100 and 30 <= lat <= 34
    window = _plumes(replica, limit=1000, datetime="2024-01-01/2024-12-31")
    assert all(p["scene_timestamp"].startswith("2024") for p in window["items"])
    opened = _plumes(replica, limit=1, datetime="2024-01-01T00:00:00Z/..")["total_count"]
    assert window["total_count"] < opened
    published = _plumes(replica, limit=1, published_at_datetime="../2020-01-01")
    assert published["total_count"] < total
    heavy = _plumes(replica, limit=1000, emission_min=1000, emission_max=5000)
    assert all(1000 <= p["emission_auto"] <= 5000 for p in heavy["items"])
    one = _plumes(replica, limit=1)["items"][0]
    named = _plumes(replica, plume_names=[one["plume_id"]])
    assert [p["id"] for p in named["items"]] == [one["id"]]
    assert _plumes(replica, plume_ids=[one["id"]])["total_count"] == 1
    scene = one["plume_id"].rsplit("-", 1)[0]
    assert _plumes(replica, scene_name=scene)["total_count"] >= 1
    assert _plumes(replica, limit=1, status="published")["total_count"] == total


@pytest.mark.parametrize("params, loc", [
    ({"bbox": "-105,30,-100,34"}, ["query", "bbox", 0]),
    ({"instrument": "gao"}, ["query", "instrument"]),
    ({"sectors": ["1B2", "3A"]}, ["query", "sectors", 1]),
    ({"limit": 1001}, ["query", "limit"]),
    ({"sort": "newest"}, ["query", "sort"]),
    ({"plume_gas": "ch4"}, ["query", "plume_gas"]),
    ({"datetime": "2024-13-01/.."}, ["query", "datetime"]),
    ({"plume_ids": "not-a-uuid"}, ["query", "plume_ids", 0]),
    ({"created_at": "yesterday"}, ["query", "created_at"]),
])
def test_validation_errors_are_422(replica, params, loc):
    response = _get(replica, "/catalog/plumes/annotated", params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == loc and detail[0]["msg"] and detail[0]["type"]


def test_single_plume(replica):
    record = _plumes(replica, limit=1)["items"][0]
    by_name = _get(replica, f"/catalog/plume/{record['plume_id']}")
    by_uuid = _get(replica, f"/catalog/plume/{record['id']}")
    assert by_name.status_code == by_uuid.status_code == 200
    assert by_name.json()["id"] == by_uuid.json()["id"] == record["id"]
    missing = _get(replica, "/catalog/plume/tan29991231t000000c00s4001-Z")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert _get(replica, "/catalog/plume/definitely not an id").status_code == 422


def test_plume_csv(replica):
    total = _plumes(replica, limit=1)["total_count"]
    response = _get(replica, "/catalog/plume-csv", headers=bearer(login(replica)["access"]))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["pagination-count"] == str(total)
    assert response.headers["pagination-limit"] == "500"
    assert response.headers["pagination-offset"] == "0"
    raw = response.content
    assert raw.count(b"\r\n") == 501 and raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    header = raw.split(b"\r\n", 1)[0].decode().split(",")
    assert header[:4] == ["plume_id", "plume_latitude", "plume_longitude", "datetime"]
    rows = list(csv.DictReader(io.StringIO(raw.decode(), newline="")))
    assert len(rows) == 500
    assert any(r["ipcc_sector"] == "Oil & Gas (1B2)" for r in rows)  # verbose sector
    trimmed = _get(replica, "/catalog/plume-csv", {"limit": 3, "offset": 2,
                                                   "exclude_columns": ["plume_tif", "gas"]})
    assert trimmed.headers["pagination-offset"] == "2"
    cols = trimmed.content.split(b"\r\n", 1)[0].decode().split(",")
    assert "plume_tif" not in cols and "gas" not in cols and len(cols) == len(header) - 2
    assert trimmed.content.count(b"\r\n") == 4
    assert _get(replica, "/catalog/plume-csv", {"limit": 1001}).status_code == 422


def test_sources(replica):
    listing = _get(replica, "/catalog/sources.geojson")
    assert listing.status_code == 200
    assert listing.headers["Content-Type"].startswith("application/geo+json")
    features = listing.json()["features"]
    assert listing.json()["type"] == "FeatureCollection" and features
    names = [f["properties"]["source_name"] for f in features]
    assert any("?" in n for n in names)  # the query-suffix quirk
    name = next(n for n in names if "?" not in n)
    detail = _get(replica, f"/catalog/source/{name}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["source_name"] == name and body["point"]["type"] == "Point"
    assert {"source", "plumes", "scenes", "observation_dates", "detection_dates"} <= set(body)
    assert body["plumes"]
    plume = body["plumes"][0]
    via_name = _get(replica, f"/catalog/source/plume/name/{plume['plume_id']}")
    via_uuid = _get(replica, f"/catalog/source/plume/{plume['id']}")
    assert via_name.json()["source_name"] == via_uuid.json()["source_name"] == name
    assert _get(replica, "/catalog/source/CH4_1B2_100m_0.00000_0.00000").status_code == 404
    csv_response = _get(replica, "/catalog/sources-csv")
    assert csv_response.status_code == 200
    assert csv_response.content.startswith(b"source_name,source_latitude,source_longitude")
    bad = _get(replica, f"/catalog/source-plumes-csv/{name}")
    assert bad.status_code == 400 and bad.text == f'"{name}" is not a valid UUID'


def test_validated_but_not_applied_parameters(replica):
    """``created_at`` does not filter; ``eps``/``minpoints`` are checked on the source listings only."""
    total = _plumes(replica, limit=1)["total_count"]
    assert _plumes(replica, limit=1, created_at="2030-01-01/..")["total_count"] == total
    features = _get(replica, "/catalog/sources.geojson").json()["features"]
    assert _get(replica, "/catalog/sources.geojson", {"eps": 1000, "minpoints": 3}).json()["features"] == features
    for path in ("/catalog/sources.geojson", "/catalog/sources-csv"):
        response = _get(replica, path, {"eps": "wide", "minpoints": "1.5"})
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["detail"]] == [["query", "eps"], ["query", "minpoints"]]
    assert _plumes(replica, limit=1, eps="wide")["total_count"] == total  # unknown here: ignored


def test_unclustered_plume_has_no_source(replica):
    newest = _plumes(replica, limit=200, sort="published_desc")["items"]
    codes = {_get(replica, f"/catalog/source/plume/name/{p['plume_id']}").status_code
             for p in newest}
    assert 404 in codes


def test_scenes(replica):
    page = _get(replica, "/catalog/scenes/annotated", {"limit": 100})
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"items", "count"} and len(body["items"]) == 100 and body["count"] > 100
    assert {"id", "name", "bounds", "timestamp", "instrument"} <= set(body["items"][0])
    assert _get(replica, "/catalog/scenes/annotated", {"limit": 101}).status_code == 422
    assert _get(replica, "/catalog/scenes").status_code == 401
    token = login(replica)["access"]
    assert _get(replica, "/catalog/scenes", headers=bearer(token)).status_code == 401


def test_unknown_route_is_django_404(replica):
    response = _get(replica, "/catalog/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
