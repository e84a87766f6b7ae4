"""Token pair/refresh/verify, scoped STAC tokens, Bearer handling and log hygiene."""

from __future__ import annotations

import time

import requests

from cm_assets_tests.replica._http import TIMEOUT, bearer, jwt_claims, login


def test_token_pair_shape_and_claims(replica):
    pair = login(replica)
    assert set(pair) == {"refresh", "access", "groups", "permissions"}
    claims = jwt_claims(pair["access"])
    assert claims["token_type"] == "access"
    assert claims["scope"] == "stac catalog:read"
    assert claims["groups"] == "Public"
    assert claims["all_group_names"] == {"common": ["Public"]}
    assert claims["exp"] - claims["iat"] == 604800
    assert isinstance(claims["user_id"], int) and claims["jti"]
    header = pair["access"].split(".")[0]
    assert jwt_claims(f"x.{header}.y") == {"alg": "HS256", "typ": "JWT"}


def test_bad_credentials_give_errors_out(replica):
    response = requests.post(f"{replica.api_url}/token/pair", timeout=TIMEOUT,
                             json={"email": replica.email, "password": "wrong"})
    assert response.status_code == 401
    assert isinstance(response.json()["errors"], dict)


def test_refresh_rotates_and_verify(replica):
    pair = login(replica)
    refreshed = requests.post(f"{replica.api_url}/token/refresh", timeout=TIMEOUT,
                              json={"refresh": pair["refresh"]})
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert set(body) == {"refresh", "access"} and body["access"] != pair["access"]
    ok = requests.post(f"{replica.api_url}/token/verify", json={"token": body["access"]},
                       timeout=TIMEOUT)
    assert ok.status_code == 200 and ok.json() == {}
    bad = requests.post(f"{replica.api_url}/token/verify", json={"token": "a.b.c"},
                        timeout=TIMEOUT)
    assert bad.status_code == 401
    wrong_kind = requests.post(f"{replica.api_url}/token/refresh", timeout=TIMEOUT,
                               json={"refresh": pair["access"]})
    assert wrong_kind.status_code == 401


def test_create_stac_token(replica):
    url = f"{replica.api_url}/account/tokens/create-stac"
    body = {"expiration_date": "2099-01-01", "name": "ci"}
    assert requests.post(url, json=body, timeout=TIMEOUT).status_code == 401
    access = login(replica)["access"]
    created = requests.post(url, json=body, headers=bearer(access), timeout=TIMEOUT)
    assert created.status_code == 200
    token = created.json()["token_value"]
    listing = requests.get(f"{replica.api_url}/catalog/plumes/annotated",
                           params={"limit": 1}, headers=bearer(token), timeout=TIMEOUT)
    assert listing.status_code == 200


def test_optional_bearer_on_catalog_and_stac(replica):
    url = f"{replica.api_url}/catalog/plumes/annotated"
    assert requests.get(url, params={"limit": 1}, timeout=TIMEOUT).status_code == 200
    bad = requests.get(url, params={"limit": 1}, headers=bearer("not.a.jwt"), timeout=TIMEOUT)
    assert bad.status_code == 401
    stac = requests.get(f"{replica.api_url}/stac/collections", headers=bearer("x.y.z"),
                        timeout=TIMEOUT)
    assert stac.status_code == 401


def test_tokens_and_signatures_never_logged(replica):
    pair = login(replica)
    requests.get(f"{replica.api_url}/catalog/plumes/annotated", params={"limit": 2},
                 headers=bearer(pair["access"]), timeout=TIMEOUT).raise_for_status()
    requests.post(f"{replica.api_url}/token/verify", json={"token": pair["refresh"]},
                  timeout=TIMEOUT).raise_for_status()
    record = requests.get(f"{replica.api_url}/catalog/plumes/annotated",
                          params={"limit": 1}, timeout=TIMEOUT).json()["items"][0]
    signed = record["plume_png"]
    requests.get(signed, timeout=TIMEOUT).raise_for_status()
    deadline = time.monotonic() + 5  # the access line is written after the body
    while "Signature=***" not in (log := replica.stderr_text(limit=10**7)):
        assert time.monotonic() < deadline, "no CDN access-log line"
        time.sleep(0.05)
    assert "/catalog/plumes/annotated" in log
    for secret in (pair["access"], pair["refresh"], pair["access"].split(".")[2],
                   signed.split("Signature=")[1].split("&")[0]):
        assert secret not in log

