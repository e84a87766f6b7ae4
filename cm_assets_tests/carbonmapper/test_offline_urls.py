"""URL grammar, CDN → proxy rewrite, L3A/L2B derivation, query encoding, secrets: no network."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from cm_assets.carbonmapper import (CarbonMapperClient, ClientConfig, CollectionId, PlumeRecord,
                                   l2b_candidates)
from cm_assets.carbonmapper.errors import ApiError, redact_url
from cm_assets.carbonmapper.products import derive_plume_urls, urls_from_stac_items
from cm_assets.carbonmapper.query import format_interval, plume_filters
from cm_assets.carbonmapper.scenes import derive_scene_urls, rgb_candidates
from cm_assets.carbonmapper.urls import AssetUrls, parse_asset_url

pytestmark = pytest.mark.fast

API = "https://api.example.org/api/v1"
PROXY = API + "/catalog/asset"
PID = "tan20260623t124240c80s4001-A"
SIGNED = "?Expires=1778232132&Signature=abc~&Key-Pair-Id=K2"


def cdn(collection: str, key: str, item: str = PID) -> str:
    return (f"https://catalog.example.org/{collection}/2026/06/23/{item}/{item}_{collection}_{key}"
            + SIGNED)


def plume(**fields) -> PlumeRecord:
    base = {"id": "8a1c6f0e-0000-4000-8000-000000000003", "plume_id": PID, "gas": "CH4", "emission_version": "v3d", "cmf_type": "mfa",
            "plume_tif": cdn("l3a-vis-ch4-mfa-v3d", "plume.tif"),
            "con_tif": cdn("l3a-ime-ch4-mfa-v3d", "ime-cmf-concentrations.tif")}
    base.update(fields)
    return PlumeRecord.parse(base)


def test_parse_asset_url_and_rewrite():
    urls = AssetUrls(API)
    parsed = parse_asset_url(cdn("l3a-vis-ch4-mfa-v3d", "plume.tif"))
    assert parsed.is_signed and parsed.ref.key == "plume.tif" and parsed.ref.item_id == PID
    assert urls.resolve(str(parsed)) == (f"{PROXY}/l3a-vis-ch4-mfa-v3d/2026/06/23/{PID}/"
                                        f"{PID}_l3a-vis-ch4-mfa-v3d_plume.tif")
    doubled = f"{PROXY}/api/v1/catalog/asset/" + urls.resolve(str(parsed)).split("/catalog/asset/")[1]
    assert urls.resolve(doubled) == urls.resolve(str(parsed))
    assert parse_asset_url("https://x.org/a/b/c") is None
    assert parse_asset_url(f"https://x/l2b-ch4-mfa-v3a/2026/06/24/{PID}/{PID}_l2b-ch4-mfa-v3a_cmf.tif") is None


def test_foreign_unsigned_url_kept_and_anonymous_keeps_signed():
    foreign = f"http://127.0.0.1:9/l3a-vis-ch4-mfa-v3d/2026/06/23/{PID}/{PID}_l3a-vis-ch4-mfa-v3d_plume.tif"
    assert AssetUrls(API).resolve(foreign) == foreign
    signed = cdn("l3a-vis-ch4-mfa-v3d", "plume.tif")
    assert AssetUrls(API, rewrite_signed=False).resolve(signed) == signed


def test_derive_plume_urls_ch4():
    urls = derive_plume_urls(plume(), AssetUrls(API))
    tail = {k: v.rsplit("_", 2)[-2:] for k, v in urls.items()}
    assert tail["mask"] == ["l3a-vis-ch4-mfa-v3d", "plume.tif"]
    assert tail["outline"] == ["l3a-vis-ch4-mfa-v3d", "plume-outline.geojson"]
    assert tail["ime_mask"] == ["l3a-ime-ch4-mfa-v3d", "ime-cmf-mask.tif"]
    assert all(u.startswith(PROXY + "/") and "?" not in u for u in urls.values())
    assert urls["ime_concentrations"] == AssetUrls(API).resolve(plume().con_tif)


def test_derive_plume_urls_co2_takes_ime_collection_from_con_tif():
    rec = plume(gas="CO2", cmf_type="mfal", plume_tif=cdn("l3a-vis-co2-mfa-v3e", "plume.tif"),
                con_tif=cdn("l3a-ime-co2-mfal-v3e", "ime-cmf-concentrations.tif"), emission_version="v3e")
    urls = derive_plume_urls(rec, AssetUrls(API))
    assert "_l3a-ime-co2-mfal-v3e_ime-cmf-mask.tif" in urls["ime_mask"]
    assert "_l3a-vis-co2-mfa-v3e_rgb.tif" in urls["rgb"]
    # Without con_tif the CO2 ime collection still uses the record's cmf_type (mfal).
    urls = derive_plume_urls(rec.model_copy(update={"con_tif": None}), AssetUrls(API))
    assert "_l3a-ime-co2-mfal-v3e_" in urls["ime_outline"]


def test_co2_ime_urls_from_a_vis_stac_item_use_mfal():
    vis_item = {"id": PID, "assets": {"plume.tif": {"href": cdn("l3a-vis-co2-mfa-v3a", "plume.tif")}}}
    urls = urls_from_stac_items(vis_item, None, AssetUrls(API))
    assert "_l3a-vis-co2-mfa-v3a_plume.tif" in urls["mask"]
    assert "_l3a-ime-co2-mfal-v3a_ime-cmf-mask.tif" in urls["ime_mask"]


def test_derive_plume_urls_from_fields_when_no_plume_tif():
    urls = derive_plume_urls(plume(plume_tif=None, con_tif=None), AssetUrls(API))
    assert urls["mask"] == f"{PROXY}/l3a-vis-ch4-mfa-v3d/2026/06/23/{PID}/{PID}_l3a-vis-ch4-mfa-v3d_plume.tif"


def test_l2b_candidates_order():
    names = [str(c) for c in l2b_candidates(plume(), AssetUrls(API))]
    assert names[:7] == ["l2b-ch4-mfa-v3d", "l2b-ch4-mfa-v3c", "l2b-ch4-mfa-v3b", "l2b-ch4-mfa-v3a",
                         "l2b-ch4-mfa-v3", "l2b-ch4-mfa-v1", "l2b-ch4-mfa-v3e"]
    assert names[7:] == [n.replace("-mfa-", "-mf-") for n in names[:7]]  # then the other cmf type
    scene = derive_scene_urls("tan20260623t124240c80s4001", CollectionId.parse(names[0]), AssetUrls(API))
    assert scene["rgb"].endswith("tan20260623t124240c80s4001_l2b-rgb-v3d_rgb.tif")
    assert scene["uas"].endswith("_l2b-ch4-mfa-v3d_uas.txt")
    old = rgb_candidates("tan20240623t124240c80s4001", CollectionId.parse("l2b-ch4-mfa-v3"), AssetUrls(API))
    assert [u.rsplit("_", 2)[1] for u in old] == ["l2b-rgb-v3", "l2b-rgb-v2"]


def test_query_encoding():
    params = plume_filters(gas="ch4", instruments=["TAN", "gao"], sectors=["Oil & Gas (1B2)", "6A"],
                           bbox=(-104.5, 32.0, -103.5, 32.8),
                           observed=(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), None),
                           published=(dt.date(2026, 1, 1), dt.date(2026, 1, 31)), emission_min=100)
    assert ("plume_gas", "CH4") in params
    assert [v for k, v in params if k == "instruments"] == ["tan", "GAO"]
    assert [v for k, v in params if k == "sectors"] == ["1B2", "6A"]
    assert [v for k, v in params if k == "bbox"] == ["-104.5", "32.0", "-103.5", "32.8"]
    assert ("datetime", "2026-03-01T00:00:00Z/..") in params
    assert ("published_at_datetime", "2026-01-01/2026-01-31") in params
    assert ("status", "published") in params
    assert format_interval((None, dt.datetime(2026, 1, 1, 12))) == "../2026-01-01T12:00:00Z"
    with pytest.raises(ValueError):
        plume_filters(instruments=["landsat"])
    with pytest.raises(ValueError):
        plume_filters(bbox=(1, 2, 3))


def test_token_never_in_repr_or_errors(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "eyJhbGciOi.sekrit-token-value.sig"
    client = CarbonMapperClient(API, token=secret)
    config = ClientConfig.from_env({"CARBONMAPPER_TOKEN": secret, "CARBONMAPPER_API_URL": API})
    for text in (repr(client), str(client), repr(config), str(config), repr(config.credentials)):
        assert secret not in text
    assert config.credentials.token.reveal() == secret and config.api_url == API
    err = ApiError(500, API + "/catalog/plume/x?Signature=abc&token=" + secret)
    assert secret not in str(err) and "Signature" not in str(err)
    assert redact_url("https://user:pw@h:8443/p?q=1#f") == "https://h:8443/p"


def test_config_from_env_login_and_defaults():
    config = ClientConfig.from_env({"CARBONMAPPER_EMAIL": "a@b", "CARBONMAPPER_PASSWORD": "pw"})
    assert config.api_url == "http://127.0.0.1:8700/api/v1"
    assert config.credentials.can_login and "pw" not in repr(config)
    assert ClientConfig.from_env({}).credentials.anonymous
    with pytest.raises(ValueError):
        ClientConfig.from_env({"CARBONMAPPER_EMAIL": "a@b"})


@pytest.mark.parametrize("url", [
    "https://cdn.example/a/b.tif?Expires=1&Signature=x&Key-Pair-Id=y",
    "https://h/p?x=1#frag", "https://h/p#frag?x", "http://h:80/a;b?c", "https://h/p", "https://h/p?",
    "https://h/%20x?s=1", "https://u:p@h/x?y", "HTTPS://H/x?y", " https://h/x?y", "s3://bucket/key?versionId=3",
])
def test_strip_signature_equals_urlsplit_without_query_and_fragment(url):
    from urllib.parse import urlsplit, urlunsplit

    from cm_assets.carbonmapper.urls import strip_signature

    parts = urlsplit(url)
    assert strip_signature(url) == urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))



def _parse_by_urlsplit(url: str):
    """The asset grammar read through urlsplit: what parse_asset_url's faster split must equal."""
    import re
    from urllib.parse import urlsplit

    from cm_assets.carbonmapper.urls import AssetRef, AssetUrl

    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) < 7:
        return None
    collection, year, month, day, item, filename = segments[-6:]
    match = re.match(r"^(?P<item>.+?)_(?P<collection>l\d[a-z0-9-]*?)_(?P<key>[A-Za-z0-9][\w.-]*)$", filename)
    if not match or match["item"] != item or match["collection"] != collection or f"{year}{month}{day}" != item[3:11]:
        return None
    base_path = "/".join(segments[:-6])
    base = f"{parts.scheme}://{parts.netloc}{base_path}" if parts.scheme else base_path
    return AssetUrl(base, AssetRef(collection, item, match["key"]), parts.query)


_ASSET = f"l3a-vis-ch4-mfa-v3d/2026/06/23/{PID}/{PID}_l3a-vis-ch4-mfa-v3d_plume.tif"


@pytest.mark.parametrize("url", [
    cdn("l3a-vis-ch4-mfa-v3d", "plume.tif"), f"{PROXY}/{_ASSET}", f"https://h/{_ASSET}",
    f"https://h/{_ASSET}?x=1#frag", f"https://h/{_ASSET}#frag?x=1", f"https://h:8443/a/b/{_ASSET}?",
    f"https://u:p@h/{_ASSET}?y", f"HTTPS://H/{_ASSET}?y", f" https://h/{_ASSET}?y", f"https://h/{_ASSET}\t",
    f"https://h/{_ASSET}".replace("/06/", "/6/"), f"s3://bucket/{_ASSET}?versionId=3", f"/{_ASSET}", _ASSET,
    f"https://[::1]/{_ASSET}", "https://h", "https://h?x=/a/b/c/d/e/f/g", f"https://h//{_ASSET}", f"file:///{_ASSET}",
])
def test_parse_asset_url_equals_the_urlsplit_reading(url):
    assert parse_asset_url(url) == _parse_by_urlsplit(url)


def test_a_url_urlsplit_refuses_is_no_asset_url():
    assert parse_asset_url(f"https://[::1/{_ASSET}") is None


def test_parse_asset_url_equals_the_urlsplit_reading_on_random_urls():
    import random

    rng = random.Random(7)
    pieces = ["https://", "http://", "s3://", "/", "//", "h", "h:80", "u@h", "?", "#", "&", "=", "%20", " ", "\t",
              "[", ":", _ASSET, f"{PID}_l3a-vis-ch4-mfa-v3d_plume.tif", "l3a-vis-ch4-mfa-v3d", "2026", "06", "23", PID]
    parsed = 0
    for _ in range(20_000):
        url = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 9)))
        try:
            expected = _parse_by_urlsplit(url)
        except ValueError:  # urlsplit refuses the netloc (a lone IPv6 bracket): no asset URL either
            expected = None
        assert parse_asset_url(url) == expected, url
        parsed += expected is not None
    assert parsed > 100
