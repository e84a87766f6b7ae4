"""File serving: the asset proxy (Bearer, Range, 403/404 semantics), signed CDN URLs, COG reads over HTTP."""

from __future__ import annotations

import time

import pytest
import rasterio
import requests
from rasterio.windows import Window

from cm_assets_tests.replica._http import TIMEOUT, admin, bearer, login


@pytest.fixture(scope="module")
def record(replica):
    items = requests.get(f"{replica.api_url}/catalog/plumes/annotated", timeout=TIMEOUT,
                         params={"limit": 50}).json()["items"]
    return next(r for r in items if r["plume_tif"])


@pytest.fixture(scope="module")
def token(replica):
    return login(replica)["access"]


def _proxy(replica, url):
    return url.split("?")[0].replace(replica.cdn_url, f"{replica.api_url}/catalog/asset")


def test_proxy_requires_bearer(replica, record, token):
    url = _proxy(replica, record["plume_tif"])
    assert requests.get(url, timeout=TIMEOUT).status_code == 401
    assert requests.get(url, headers=bearer("bad"), timeout=TIMEOUT).status_code == 401
    full = requests.get(url, headers=bearer(token), timeout=TIMEOUT)
    assert full.status_code == 200
    assert full.headers["Accept-Ranges"] == "bytes"
    assert int(full.headers["Content-Length"]) == len(full.content) > 1000
    assert full.content[:4] in (b"II*\x00", b"MM\x00*")
    head = requests.head(url, headers=bearer(token), timeout=TIMEOUT)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(full.content))


@pytest.mark.parametrize("spec, start, stop", [("bytes=0-1", 0, 1), ("bytes=100-", 100, None),
                                              ("bytes=-50", -50, None)])
def test_proxy_ranges(replica, record, token, spec, start, stop):
    url = _proxy(replica, record["plume_tif"])
    whole = requests.get(url, headers=bearer(token), timeout=TIMEOUT).content
    part = requests.get(url, headers={**bearer(token), "Range": spec}, timeout=TIMEOUT)
    assert part.status_code == 206
    expected = whole[start:] if stop is None else whole[start:stop + 1]
    assert part.content == expected
    first = start if start >= 0 else len(whole) + start
    assert part.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(whole)}"
    past = requests.get(url, headers={**bearer(token), "Range": f"bytes={len(whole)}-"},
                        timeout=TIMEOUT)
    assert past.status_code == 416


def test_proxy_404_and_403(replica, record, token):
    url = _proxy(replica, record["plume_tif"])
    collection = url.split("/catalog/asset/")[1].split("/")[0]
    unknown = url.replace(collection, "l3a-vis-ch4-mfa-v3q")
    assert requests.get(unknown, headers=bearer(token), timeout=TIMEOUT).status_code == 404
    garbage = f"{replica.api_url}/catalog/asset/not/an/asset.tif"
    assert requests.get(garbage, headers=bearer(token), timeout=TIMEOUT).status_code == 404
    doubled = url.replace("/catalog/asset/", "/catalog/asset/api/v1/catalog/asset/")
    assert requests.get(doubled, headers=bearer(token), timeout=TIMEOUT).status_code == 404
    other = "l3a-vis-ch4-mfa-v3a" if collection != "l3a-vis-ch4-mfa-v3a" else "l3a-vis-ch4-mfa-v3e"
    wrong = requests.get(url.replace(collection, other), headers=bearer(token), timeout=TIMEOUT)
    assert wrong.status_code == 403
    bad_key = url.replace("_plume.tif", "_nonsense.tif")
    assert requests.get(bad_key, headers=bearer(token), timeout=TIMEOUT).status_code == 404


def test_cdn_signed_urls(replica, record):
    signed = record["plume_png"]
    assert signed.startswith(replica.cdn_url) and "Key-Pair-Id=" in signed
    ok = requests.get(signed, timeout=TIMEOUT)
    assert ok.status_code == 200 and ok.content.startswith(b"\x89PNG")
    ranged = requests.get(signed, headers={"Range": "bytes=0-7"}, timeout=TIMEOUT)
    assert ranged.status_code == 206 and ranged.content == b"\x89PNG\r\n\x1a\n"
    tampered = signed.replace("Signature=", "Signature=x")
    denied = requests.get(tampered, timeout=TIMEOUT)
    assert denied.status_code == 403 and b"<Code>AccessDenied</Code>" in denied.content
    other_path = signed.replace("_plume.png", "_rgb.png")
    assert requests.get(other_path, timeout=TIMEOUT).status_code == 403
    assert requests.get(signed.split("?")[0], timeout=TIMEOUT).status_code == 403


def test_short_lifetimes_expire(replica_factory):
    short = replica_factory(cdn_url_lifetime=2, token_lifetime=2)
    access = login(short)["access"]
    item = requests.get(f"{short.api_url}/catalog/plumes/annotated", params={"limit": 1},
                        headers=bearer(access), timeout=TIMEOUT).json()["items"][0]
    assert requests.get(item["plume_png"], timeout=TIMEOUT).status_code == 200
    time.sleep(2.5)
    expired = requests.get(item["plume_png"], timeout=TIMEOUT)
    assert expired.status_code == 403 and b"expired" in expired.content
    api = requests.get(f"{short.api_url}/catalog/plumes/annotated", headers=bearer(access),
                       timeout=TIMEOUT)
    assert api.status_code == 401


def test_cmf_cog_over_vsicurl(replica, token):
    search = requests.get(f"{replica.api_url}/stac/search", timeout=TIMEOUT,
                          params={"collections": "l2b-ch4-mfa-v3a", "limit": 1}).json()
    href = search["features"][0]["assets"]["cmf.tif"]["href"]
    admin(replica, "POST", "/stats/reset")
    size = int(requests.head(href, headers=bearer(token), timeout=TIMEOUT)
               .headers["Content-Length"])
    with rasterio.Env(GDAL_HTTP_HEADERS=f"Authorization: Bearer {token}",
                      GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        with rasterio.open(f"/vsicurl/{href}") as dataset:
            assert dataset.driver == "GTiff" and dataset.crs.is_projected
            assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert dataset.profile["tiled"] and dataset.block_shapes[0] == (256, 256)
            window = dataset.read(1, window=Window(0, 0, 64, 64))
            assert window.shape == (64, 64)
    served = admin(replica, "GET", "/stats")["classes"]["asset"]
    assert served["status"].get("206", 0) >= 1
    if size > 2_000_000:
        assert served["bytes"] < size
