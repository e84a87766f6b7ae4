"""Retries, token lifecycle, token confinement to the API host, and byte-efficient crops."""

from __future__ import annotations

import logging
import math
import time

import pytest
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from cm_assets.carbonmapper import (ApiError, AuthenticationError, CarbonMapperClient, PlumeRecord,
                                   RateLimited, RetryPolicy, SceneRaster, Secret)
from cm_assets.carbonmapper import cog_ranges
from cm_assets.carbonmapper.geo import GeoArray, window_block_bytes
from cm_assets.carbonmapper.transport import Transport
from cm_assets.carbonmapper.urls import parse_asset_url

from ._servers import Recorder, recording_server
from cm_assets_tests.helpers.client import admin

PLUME_PATH = "/api/v1/catalog/plume/"


@pytest.fixture
def faults(replica):
    yield lambda **spec: admin(replica, "POST", "/faults", json=spec)
    admin(replica, "DELETE", "/faults")


def test_429_storm_waits_retry_after(client: CarbonMapperClient, stac_plume, faults):
    plume, _ = stac_plume
    faults(status=429, count=2, path_prefix=PLUME_PATH, retry_after=1)
    started = time.monotonic()
    assert client.get_plume(plume.plume_id).id == plume.id
    assert time.monotonic() - started >= 2.0  # two Retry-After: 1 waits


def test_429_beyond_policy_raises_rate_limited(replica, stac_plume, faults):
    plume, _ = stac_plume
    faults(status=429, count=5, path_prefix=PLUME_PATH, retry_after=1)
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password,
                            retry=RetryPolicy(max_attempts=2)) as impatient:
        with pytest.raises(RateLimited) as info:
            impatient.get_plume(plume.plume_id)
    assert info.value.status == 429 and info.value.retry_after == 1


def test_5xx_burst_survived_then_surfaced(replica, client: CarbonMapperClient, stac_plume, faults):
    plume, _ = stac_plume
    faults(status=503, count=3, path_prefix=PLUME_PATH)
    assert client.get_plume(plume.plume_id).plume_id == plume.plume_id
    faults(status=502, count=3, path_prefix=PLUME_PATH)
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password,
                            retry=RetryPolicy(max_attempts=2, backoff_base=0.01)) as impatient:
        with pytest.raises(ApiError) as info:
            impatient.get_plume(plume.plume_id)
    assert info.value.status == 502 and plume.plume_id in info.value.url


def test_retries_on_asset_probes_and_products(client: CarbonMapperClient, recent_plume, faults):
    plume, _ = recent_plume
    faults(status=503, count=2, path_prefix="/api/v1/catalog/asset/")
    assert client.scene_for_plume(plume).scene_name == plume.scene_name


def test_token_refresh_and_relogin(replica_factory, caplog):
    caplog.set_level(logging.INFO, logger="cm_assets.carbonmapper")
    short = replica_factory(token_lifetime=2)
    with CarbonMapperClient(short.api_url, email=short.email, password=short.password) as c:
        first = next(c.iter_plumes(page_size=1))
        c.transport._renew_at = float("inf")  # no proactive renewal: exercise the 401 path
        time.sleep(2.5)
        assert c.get_plume(first.plume_id).id == first.id
        assert "401, retrying with a renewed token" in caplog.text
        assert "access token refreshed" in caplog.text
        caplog.clear()
        time.sleep(2.5)  # proactive: the expiry claim says renew before sending
        assert c.get_plume(first.plume_id).id == first.id
        assert "access token refreshed" in caplog.text and "401" not in caplog.text
        caplog.clear()
        c.transport._refresh = Secret("not-a-refresh-token")  # refresh fails: log in again
        c.transport._renew_at = 0.0
        assert c.get_plume(first.plume_id).id == first.id
        assert "token refresh failed (HTTP 401)" in caplog.text
        assert "obtained a new token pair" in caplog.text
        token = c.transport.authorization_for(short.api_url).split()[1]
    time.sleep(2.5)
    with CarbonMapperClient(short.api_url, token=token) as static:  # nothing to renew it with
        with pytest.raises(AuthenticationError) as info:
            static.get_plume(first.plume_id)
        assert token not in str(info.value) and token not in repr(static)
    assert token not in caplog.text


def _foreign_record(plume: PlumeRecord, base: str) -> PlumeRecord:
    ref = parse_asset_url(plume.plume_tif).ref
    return plume.model_copy(update={"plume_tif": f"{base}/{ref.path}", "con_tif": None})


def test_token_never_reaches_a_foreign_host(client: CarbonMapperClient, stac_plume, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    plume, scene = stac_plume
    token = client.transport.authorization_for(client.api_url).split()[1]
    real = client.plume_products(plume)
    with recording_server() as foreign:
        record = _foreign_record(plume, foreign.url)
        products = client.plume_products(record)
        assert products.urls["mask"].startswith(foreign.url)
        with client.assets.open_raster("cmf", scene.urls["cmf"]) as ds:
            cog = ds.read(window=rasterio.windows.Window(0, 0, 300, 300))
            profile = ds.profile
        path = "/" + products.urls["mask"].split("/", 3)[3]
        foreign.files[path] = client.assets.fetch("mask", real.urls["mask"])
        cmf_path = "/scene/cmf.tif"
        tmp = GeoArray(cog, profile["transform"], profile["crs"], profile["nodata"])
        foreign.files[cmf_path] = tmp.to_cog(tmp_path / "cmf.tif").read_bytes()
        assert products.mask.values.shape == real.mask.values.shape  # served by the foreign host
        with client.assets.open_raster("cmf-foreign", foreign.url + cmf_path) as ds:
            assert ds.read(1, window=rasterio.windows.Window(0, 0, 16, 16)).shape == (16, 16)
        with client.assets.open_cog("cmf-foreign", foreign.url + cmf_path) as cog:  # by ranges
            assert cog.read(rasterio.windows.Window(0, 0, 16, 16)).values.shape == (1, 16, 16)
    assert {p for _, p, _ in foreign.seen} == {path, cmf_path}  # both reads went there
    assert foreign.authorizations() == []
    assert token not in caplog.text


def test_redirect_to_another_host_drops_the_token():
    with recording_server() as foreign, recording_server(Recorder()) as api:
        foreign.files["/landing"] = b"{}"
        api.redirects["/api/v1/catalog/plume/x"] = foreign.url + "/landing"
        api.files["/api/v1/catalog/plume/y"] = b"{}"
        with CarbonMapperClient(api.url + "/api/v1", token="tok-123") as c:
            assert c.transport.get_json("/catalog/plume/x") == {}
            assert c.transport.get_json("/catalog/plume/y") == {}
    assert api.authorizations() == ["Bearer tok-123", "Bearer tok-123"]
    assert foreign.authorizations() == [] and foreign.seen


def test_crop_reads_only_the_blocks_it_needs(replica, client: CarbonMapperClient, recent_plume):
    plume, scene = recent_plume
    scene = SceneRaster(scene.item, scene.urls, client.assets)  # its header not read yet
    outline = client.plume_products(plume).outline
    url = scene.urls["uncertainty"]
    size = int(client.transport.request("GET", url, headers={"Range": "bytes=0-1"})
               .headers["Content-Range"].rsplit("/", 1)[1])
    admin(replica, "POST", "/stats/reset")
    crop = scene.crop("uncertainty", outline, pad_px=32)
    served = admin(replica, "GET", "/stats")["classes"]["asset"]
    with client.assets.open_raster("uncertainty", url) as ds:
        bounds = transform_bounds("EPSG:4326", ds.crs, *outline.bounds, densify_pts=21)
        raw = from_bounds(*bounds, transform=ds.transform)
        col0, row0 = max(math.floor(raw.col_off) - 32, 0), max(math.floor(raw.row_off) - 32, 0)
        col1 = min(math.ceil(raw.col_off + raw.width) + 32, ds.width)
        row1 = min(math.ceil(raw.row_off + raw.height) + 32, ds.height)
        window = Window(col0, row0, col1 - col0, row1 - row0)
        minimum = window_block_bytes(ds, window)
    assert crop.values.shape[1:] == (window.height, window.width)
    assert served["requests"] == 2  # the header, then the window's tiles (two rows of tiles: one range)
    # blocks + header + at most one gap between two rows of tiles fetched rather than asked apart
    assert minimum <= served["bytes"] <= minimum + cog_ranges.HEADER_BYTES + cog_ranges.MERGE_GAP
    assert served["bytes"] < size / 2


def test_truncated_bodies_and_random_5xx_are_retried(replica_factory, client: CarbonMapperClient):
    flaky = replica_factory(truncate_rate=0.3, fault_5xx_rate=0.2, fault_seed=3)
    window = ("2025-06-01T00:00:00Z", "2025-12-31T00:00:00Z")
    expected = [p.plume_id for p in client.iter_plumes(observed=window)]
    with CarbonMapperClient(flaky.api_url, email=flaky.email, password=flaky.password,
                            retry=RetryPolicy(max_attempts=12, backoff_base=0.02, backoff_cap=0.2)) as c:
        assert [p.plume_id for p in c.iter_plumes(observed=window, page_size=20)] == expected
        products = c.plume_products(expected[0])
        assert products.mask.values.shape[0] == 4 and products.outline.is_valid
    stats = admin(flaky, "GET", "/stats")["classes"]
    assert any(code.startswith("5") for cls in stats.values() for code in cls["status"])


def test_json_bodies_decode_as_json_loads_does_and_a_non_json_body_is_a_clear_error():
    import json

    body = ('{"plume_id": "tan20260623t124240c80s4001-A", "n": 12345678901234567890, "x": -0.1e-7, '
            '"nan": NaN, "inf": -Infinity, "s": "caf\\u00e9 \\ud83d\\ude00 \u00e9", "a": [1, 2.5, null, true], '
            '"nested": {"k": {"k": []}}, "dup": 1, "dup": 2}').encode()
    with recording_server() as api:
        api.files["/api/v1/ok"] = body
        api.files["/api/v1/broken"] = b'{"results": [1, 2'
        with CarbonMapperClient(api.url + "/api/v1", token="tok") as c:
            decoded = c.transport.get_json("/ok")
            with pytest.raises(ApiError, match="body is not JSON"):
                c.transport.get_json("/broken")
    expected = json.loads(body)
    assert math.isnan(decoded.pop("nan")) and math.isnan(expected.pop("nan"))
    assert decoded == expected and type(decoded["n"]) is int


def test_proxies_come_from_the_environment_once_per_origin(monkeypatch):
    """As requests' own defaults do (``HTTP_PROXY``, ``NO_PROXY``), read once per origin, not per request."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    Transport._proxies_for.cache_clear()
    try:
        with recording_server() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            with CarbonMapperClient("http://api.example.invalid/api/v1") as client:
                for _ in range(2):
                    client.transport.request("GET", "/catalog/plume/x", passthrough=(404,))
        assert [path for _, path, _ in proxy.seen] == ["http://api.example.invalid/api/v1/catalog/plume/x"] * 2
        assert Transport._proxies_for.cache_info().misses == 1
        monkeypatch.setenv("NO_PROXY", "api.example.invalid")
        Transport._proxies_for.cache_clear()
        assert Transport._proxies_for("http", "api.example.invalid", None) == {}
    finally:
        Transport._proxies_for.cache_clear()
