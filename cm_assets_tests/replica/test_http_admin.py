"""Admin surface, clock-driven arrivals, reprocessing, stats, limits, faults, determinism."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
import requests

from cm_assets.replica.faults import FaultInjector
from cm_assets_tests.helpers.replica import replica_process
from cm_assets_tests.replica._http import TIMEOUT, admin, bearer, login


def _plumes(replica, **params):
    response = requests.get(f"{replica.api_url}/catalog/plumes/annotated", params=params,
                            timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """A second replica with the session replica's seed; these tests mutate it."""
    with replica_process(tmp_path_factory.mktemp("twin")) as process:
        yield process


def _stable(record):
    return {k: v for k, v in record.items() if not isinstance(v, str) or "Expires=" not in v}


def test_same_seed_same_records_and_asset_bytes(replica, twin):
    a = _plumes(replica, limit=50, sort="asc")
    b = _plumes(twin, limit=50, sort="asc")
    assert a["total_count"] == b["total_count"] > 0
    assert [_stable(r) for r in a["items"]] == [_stable(r) for r in b["items"]]
    record = a["items"][0]
    digests = []
    for proc in (replica, twin):
        url = record["plume_tif"].split("?")[0].replace(replica.cdn_url,
                                                        f"{proc.api_url}/catalog/asset")
        response = requests.get(url, headers=bearer(login(proc)["access"]), timeout=TIMEOUT)
        assert response.status_code == 200
        digests.append(hashlib.sha256(response.content).hexdigest())
    assert digests[0] == digests[1]


def test_clock_advance_publishes_new_plumes(twin):
    now = datetime.fromisoformat(admin(twin, "GET", "/clock")["now"])
    before = _plumes(twin, limit=1)["total_count"]
    moved = admin(twin, "POST", "/clock", json={"advance_seconds": 40 * 86400})
    assert (datetime.fromisoformat(moved["now"]) - now).days == 40
    after = _plumes(twin, limit=1000, sort="published_desc")
    assert after["total_count"] > before
    newest = datetime.fromisoformat(after["items"][0]["published_at"].replace("Z", "+00:00"))
    assert newest <= datetime.fromisoformat(moved["now"])
    reset = admin(twin, "POST", "/clock", json={"set": now.isoformat()})
    assert abs((datetime.fromisoformat(reset["now"]) - now).total_seconds()) < 60
    assert _plumes(twin, limit=1)["total_count"] == before


def test_date_header_tells_the_replica_clock(twin):
    def date_header() -> datetime:
        response = requests.get(f"{twin.api_url}/catalog/plumes/annotated", params={"limit": 1},
                                timeout=TIMEOUT)
        return parsedate_to_datetime(response.headers["Date"])

    now = datetime.fromisoformat(admin(twin, "GET", "/clock")["now"])
    assert abs((date_header() - now).total_seconds()) < 60
    moved = datetime.fromisoformat(admin(twin, "POST", "/clock", json={"advance_seconds": 200 * 86400})["now"])
    try:
        assert abs((date_header() - moved).total_seconds()) < 60
    finally:
        admin(twin, "POST", "/clock", json={"set": now.isoformat()})


def test_reprocess_reversions_a_plume(twin):
    record = _plumes(twin, limit=1, sort="asc")["items"][0]
    admin(twin, "POST", "/reprocess", json={"plume_id": record["plume_id"]})
    again = requests.get(f"{twin.api_url}/catalog/plume/{record['plume_id']}",
                         timeout=TIMEOUT).json()
    assert again["modified"] != record["modified"]
    assert (again["emission_version"], again["emission_auto"]) != (
        record["emission_version"], record["emission_auto"])
    missing = requests.post(f"{twin.admin_url}/reprocess", json={"plume_id": "nope"},
                            timeout=TIMEOUT)
    assert missing.status_code == 404


def test_stats_count_asset_bytes(twin):
    record = _plumes(twin, limit=1)["items"][0]
    url = record["plume_tif"].split("?")[0].replace(twin.cdn_url, f"{twin.api_url}/catalog/asset")
    headers = bearer(login(twin)["access"])
    admin(twin, "POST", "/stats/reset")
    part = requests.get(url, headers={**headers, "Range": "bytes=0-99"}, timeout=TIMEOUT)
    assert part.status_code == 206
    requests.get(record["plume_png"], timeout=TIMEOUT).raise_for_status()
    stats = admin(twin, "GET", "/stats")
    assert stats["classes"]["asset"] == {"requests": 1, "bytes": 100, "status": {"206": 1}}
    assert stats["classes"]["cdn"]["bytes"] > 0
    assert "admin" not in stats["classes"]


def test_stats_count_requests_per_path(twin):
    record = _plumes(twin, limit=1)["items"][0]
    url = record["plume_tif"].split("?")[0].replace(twin.cdn_url, f"{twin.api_url}/catalog/asset")
    headers = bearer(login(twin)["access"])
    admin(twin, "POST", "/stats/reset")
    for first in (0, 100):
        requests.get(url, headers={**headers, "Range": f"bytes={first}-{first + 99}"},
                     timeout=TIMEOUT).raise_for_status()
    _plumes(twin, limit=1)
    paths = admin(twin, "GET", "/stats/paths")["paths"]
    asset_path = "GET " + url.removeprefix(twin.api_url.removesuffix("/api/v1"))
    assert paths == {asset_path: 2, "GET /api/v1/catalog/plumes/annotated": 1}
    assert list(paths) == [asset_path, "GET /api/v1/catalog/plumes/annotated"]  # most requested first
    admin(twin, "POST", "/stats/reset")
    assert admin(twin, "GET", "/stats/paths") == {"paths": {}}


def test_corrupt_switch_rewrites_records_and_damages_assets(twin):
    page = _plumes(twin, limit=3, sort="asc")["items"]
    first, second, third = (r["plume_id"] for r in page)
    admin(twin, "POST", "/corrupt", json={"plume_id": first, "set": {"plume_bounds": 5}, "drop": ["gas"]})
    admin(twin, "POST", "/corrupt", json={"plume_id": second, "replace": "not a record"})
    admin(twin, "POST", "/corrupt", json={"plume_id": third, "copies": [{}, {"set": {"emission_auto": -1}}]})
    admin(twin, "POST", "/corrupt", json={"asset": f"/{page[0]['plume_id']}/"})
    served = _plumes(twin, limit=3, sort="asc")["items"]
    assert served[0]["plume_bounds"] == 5 and "gas" not in served[0]
    assert served[1] == "not a record"
    # signed URLs expire at the second they were issued in: compare records without them
    assert _stable(served[2]) == _stable(served[3]) == _stable(page[2]) and served[4]["emission_auto"] == -1
    single = requests.get(f"{twin.api_url}/catalog/plume/{first}", timeout=TIMEOUT).json()
    assert single["plume_bounds"] == 5
    url = page[0]["plume_tif"].split("?")[0].replace(twin.cdn_url, f"{twin.api_url}/catalog/asset")
    headers = bearer(login(twin)["access"])
    damaged = requests.get(url, headers=headers, timeout=TIMEOUT)
    assert damaged.status_code == 200 and not damaged.content.startswith((b"II*", b"MM\x00*"))
    assert requests.get(page[0]["plume_tif"], timeout=TIMEOUT).content == damaged.content  # the CDN too
    assert len(admin(twin, "GET", "/corrupt")["records"]) == 3
    with pytest.raises(requests.HTTPError):
        admin(twin, "POST", "/corrupt", json={"set": {}})
    admin(twin, "DELETE", "/corrupt")
    assert [_stable(r) for r in _plumes(twin, limit=3, sort="asc")["items"]] == [_stable(r) for r in page]
    assert requests.get(url, headers=headers, timeout=TIMEOUT).content.startswith((b"II*", b"MM\x00*"))


def test_scheduled_faults(twin):
    admin(twin, "POST", "/faults",
          json={"status": 503, "count": 2, "path_prefix": "/api/v1/catalog"})
    url = f"{twin.api_url}/catalog/plumes/annotated"
    assert requests.get(f"{twin.api_url}/stac/", timeout=TIMEOUT).status_code == 200
    assert [requests.get(url, timeout=TIMEOUT).status_code for _ in range(3)] == [503, 503, 200]
    admin(twin, "POST", "/faults", json={"status": 429, "count": 1, "retry_after": 2})
    throttled = requests.get(url, timeout=TIMEOUT)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"


def test_rate_limit_per_token(replica_factory):
    limited = replica_factory(rate_limit=3, rate_window=60)
    token = login(limited)["access"]  # /token/pair counts against the anonymous bucket
    url = f"{limited.api_url}/catalog/scenes/annotated"
    codes = [requests.get(url, timeout=TIMEOUT).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    blocked = requests.get(url, timeout=TIMEOUT)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "detail" in blocked.json()
    assert requests.get(url, headers=bearer(token), timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{limited.admin_url}/stats", timeout=TIMEOUT).status_code == 200


def test_seeded_probabilistic_faults(replica_factory):
    options = {"fault_5xx_rate": 0.3, "slow_rate": 0.3, "slow_ms": 400, "truncate_rate": 0.3}
    faulty = replica_factory(fault_seed=11, **options)
    expected = FaultInjector(rate_5xx=0.3, slow_rate=0.3, slow_ms=400, truncate_rate=0.3,
                             seed=11)
    url = f"{faulty.api_url}/stac/"
    seen = set()
    for _ in range(16):
        decision = expected.decide("/api/v1/stac/")
        started = time.monotonic()
        if decision.truncate:
            with pytest.raises(requests.exceptions.RequestException):
                requests.get(url, timeout=TIMEOUT)
            seen.add("truncated")
        else:
            status = decision.error.status if decision.error else 200
            assert requests.get(url, timeout=TIMEOUT).status_code == status
            seen.add(status)
        if decision.delay_s:
            assert time.monotonic() - started >= 0.4
            seen.add("slow")
    assert {200, "truncated", "slow"} <= seen and seen & {500, 502, 503, 504}
