"""STAC surface: catalog, conformance, collections, items, GET/POST search, pystac-client."""

from __future__ import annotations

import pytest
import requests
from pystac_client import Client

from cm_assets_tests.replica._http import TIMEOUT

COLLECTION = "l2b-ch4-mfa-v3"


def _get(replica, path, **params):
    return requests.get(f"{replica.api_url}/stac{path}", params=params, timeout=TIMEOUT)


def test_root_and_conformance(replica):
    root = _get(replica, "/").json()
    assert "https://api.stacspec.org/v1.0.0/item-search" in root["conformsTo"]
    rels = {link["rel"] for link in root["links"]}
    assert {"self", "root", "data", "search", "conformance"} <= rels
    assert _get(replica, "/conformance").json()["conformsTo"] == root["conformsTo"]


def test_collections_are_stac_resident_only(replica):
    body = _get(replica, "/collections").json()
    ids = {c["id"] for c in body["collections"]}
    assert COLLECTION in ids and "l2b-ch4-mfa-v3a" in ids
    assert not any(i.endswith(("-v3c", "-v3d", "-v3e")) or i.startswith("l2c") for i in ids)
    one = _get(replica, f"/collections/{COLLECTION}").json()
    assert one["extent"]["temporal"]["interval"][0][0]
    missing = _get(replica, "/collections/l2b-ch4-mfa-v3e")
    assert missing.status_code == 404
    assert {"code", "description"} <= set(missing.json())


def test_items_paging_and_single_item(replica):
    first = _get(replica, f"/collections/{COLLECTION}/items", limit=5).json()
    assert first["numberReturned"] == 5 and first["numberMatched"] > 10
    assert first["context"] == {"matched": first["numberMatched"], "returned": 5, "limit": 5}
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    second = requests.get(nxt["href"], timeout=TIMEOUT).json()
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
    item_id = first["features"][0]["id"]
    item = _get(replica, f"/collections/{COLLECTION}/items/{item_id}")
    assert item.status_code == 200 and item.json()["id"] == item_id
    assert "cmf.tif" in item.json()["assets"]
    gone = _get(replica, f"/collections/{COLLECTION}/items/tan29991231t000000c00s4001")
    assert gone.status_code == 404


def test_search_get_filters_and_cap(replica):
    capped = _get(replica, "/search", limit=1000).json()
    assert capped["numberReturned"] <= 100 and capped["context"]["limit"] == 100
    page = _get(replica, "/search", collections=COLLECTION, bbox="-125,25,-65,50",
                datetime="2023-01-01T00:00:00Z/..", limit=3).json()
    for feature in page["features"]:
        west, south, east, north = feature["bbox"]
        assert east >= -125 and west <= -65 and north >= 25 and south <= 50
        assert feature["properties"]["datetime"] >= "2023"
        assert feature["collection"] == COLLECTION
    ids = [f["id"] for f in page["features"][:2]]
    by_ids = _get(replica, "/search", collections=COLLECTION, ids=",".join(ids)).json()
    assert sorted(f["id"] for f in by_ids["features"]) == sorted(ids)
    bad = _get(replica, "/search", bbox="1,2,3")
    assert bad.status_code == 400 and "description" in bad.json()


def test_search_post_next_link(replica):
    body = {"collections": [COLLECTION], "limit": 4}
    first = requests.post(f"{replica.api_url}/stac/search", json=body, timeout=TIMEOUT).json()
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    assert nxt["method"] == "POST" and nxt["body"]["offset"] == 4
    second = requests.post(nxt["href"], json=nxt["body"], timeout=TIMEOUT).json()
    assert second["numberMatched"] == first["numberMatched"]
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_pystac_client_pages(replica, method):
    client = Client.open(f"{replica.api_url}/stac/")
    matched = _get(replica, "/search", collections=COLLECTION, limit=1).json()["numberMatched"]
    wanted = min(matched, 250)
    assert wanted > 40
    search = client.search(collections=[COLLECTION], bbox=[-180, -90, 180, 90],
                           datetime="2016-01-01/2026-12-31", max_items=wanted, limit=20,
                           method=method)
    items = list(search.items())
    assert len(items) == wanted
    assert len({i.id for i in items}) == wanted
    assert all(i.collection_id == COLLECTION for i in items)
