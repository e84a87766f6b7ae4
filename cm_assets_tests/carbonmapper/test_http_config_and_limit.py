"""``limit`` on listings and a login from a credentials file, against the replica."""

from __future__ import annotations

import json

import pytest

from cm_assets.carbonmapper import CarbonMapperClient, ClientConfig
from cm_assets.defs.resources import CarbonMapperResource

RECENT = ("2025-01-01T00:00:00Z", "2026-11-01T00:00:00Z")


def test_limit_caps_every_listing(client: CarbonMapperClient):
    everything = [p["plume_id"] for p in client.iter_plume_payloads(gas="CH4", observed=RECENT)]
    assert len(everything) > 7
    assert [p.plume_id for p in client.iter_plumes(gas="CH4", observed=RECENT, limit=7, page_size=3)] == everything[:7]
    assert len(client.list_plumes(gas="CH4", observed=RECENT, limit=5)) == 5
    assert list(client.iter_plume_payloads(gas="CH4", observed=RECENT, limit=0)) == []
    assert len(list(client.iter_plumes_csv(gas="CH4", observed=RECENT, limit=4))) == 4
    assert len(client.list_sources(limit=3)) == 3
    assert len(list(client.iter_scene_footprints(observed=RECENT, limit=120))) == 120
    with pytest.raises(ValueError):
        client.list_plumes(limit=-1)


def test_client_and_resource_log_in_with_a_credentials_file(replica, tmp_path, monkeypatch):
    path = tmp_path / "auth_carbonmapper.json"
    path.write_text(json.dumps({"email": replica.email, "password": replica.password}))
    for name in ("CARBONMAPPER_TOKEN", "CARBONMAPPER_EMAIL", "CARBONMAPPER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARBONMAPPER_CONFIG", str(path))
    monkeypatch.setenv("CARBONMAPPER_API_URL", replica.api_url)
    with CarbonMapperClient.from_env() as client:
        assert client.config == ClientConfig.load()
        plume = next(client.iter_plumes(limit=1))
        assert client.plume_products(plume).concentrations.values.size  # asset proxy needs the Bearer
    with CarbonMapperResource(api_url=replica.api_url).get_client() as client:
        assert client.config.credentials.email == replica.email
        assert client.plume_products(plume).concentrations.values.size


def test_clients_of_one_resource_share_one_login(replica_factory, monkeypatch):
    """Every asset of a run makes its own client from the run's resource: one login for all."""
    import requests

    replica = replica_factory()
    monkeypatch.delenv("CARBONMAPPER_TOKEN", raising=False)
    monkeypatch.setenv("CARBONMAPPER_EMAIL", replica.email)
    monkeypatch.setenv("CARBONMAPPER_PASSWORD", replica.password)
    resource = CarbonMapperResource(api_url=replica.api_url)
    for _ in range(3):
        with resource.get_client() as client:
            plume = next(client.iter_plumes(limit=1))
            assert client.plume_products(plume).concentrations.values.size  # the Bearer works on assets
    logins = requests.get(f"{replica.admin_url}/stats", timeout=30).json()["classes"]["auth"]["requests"]
    assert logins == 1
    with CarbonMapperResource(api_url=replica.api_url).get_client() as client:  # another run's resource
        next(client.iter_plumes(limit=1))
    assert requests.get(f"{replica.admin_url}/stats", timeout=30).json()["classes"]["auth"]["requests"] == 2
