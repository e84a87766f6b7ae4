"""``CarbonMapperResource``: the API URL its data root is claimed for is the one its clients use."""

from __future__ import annotations

import json

import pytest

from cm_assets.defs.resources import CarbonMapperResource

pytestmark = pytest.mark.fast

FILE_URL = "https://api.example.org/api/v1"
CREDENTIAL_VARIABLES = ("CARBONMAPPER_TOKEN", "CARBONMAPPER_EMAIL", "CARBONMAPPER_PASSWORD")


@pytest.fixture
def credentials_file(tmp_path, monkeypatch):
    path = tmp_path / "auth_carbonmapper.json"
    path.write_text(json.dumps({"api_url": FILE_URL, "token": "a-token-from-the-file"}))
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARBONMAPPER_CONFIG", str(path))
    return path


@pytest.mark.parametrize("api_url", [None, "http://127.0.0.1:9/api/v1"])
def test_without_credentials_in_the_environment_the_file_decides_unless_a_url_is_given(credentials_file, api_url):
    resource = CarbonMapperResource(**({"api_url": api_url} if api_url else {}))
    with resource.get_client() as client:
        assert resource.effective_api_url() == client.api_url == (api_url or FILE_URL)


def test_credentials_in_the_environment_use_the_resources_url(credentials_file, monkeypatch):
    monkeypatch.setenv("CARBONMAPPER_TOKEN", "a-token-from-the-environment")
    resource = CarbonMapperResource()
    with resource.get_client() as client:
        assert resource.effective_api_url() == client.api_url == resource.api_url != FILE_URL
