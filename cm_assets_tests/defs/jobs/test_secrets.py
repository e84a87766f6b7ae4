"""No secret reaches Dagster's storage or the data root: the resource takes credentials only from
the environment, and a real run leaves neither the password nor any JWT in any file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance

from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import CarbonMapperResource, LiteralSecretError, StorageResource
from cm_assets.defs.partitions import range_tags
from cm_assets_tests.helpers.graph import pick_days

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def secrets_in(root: Path, needles: list[bytes]) -> list[str]:
    """``path: what`` for every file under ``root`` holding one of ``needles`` or a JWT."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: secret #{i}" for i, needle in enumerate(needles) if needle in data]
        found += [f"{path}: JWT" for _ in JWT.finditer(data)][:1]
    return found


@pytest.mark.parametrize("literal", [{"password": "methane-demo"}, {"token": "eyJa.eyJb.c"},
                                     {"email": "demo@cm-assets.local"}, {"password_env": "methane-demo"},
                                     {"api_url": "http://demo:methane-demo@127.0.0.1:1/api/v1"}])
def test_the_resource_refuses_literal_credentials_without_echoing_them(literal):
    with pytest.raises(LiteralSecretError) as info:
        CarbonMapperResource(**literal)
    message = str(info.value)
    assert "CARBONMAPPER_PASSWORD" in message and "environment" in message
    assert "methane-demo" not in message and "eyJ" not in message


def test_a_real_run_stores_no_password_and_no_token(replica, tmp_path, monkeypatch):
    token = requests.post(f"{replica.api_url}/token/pair", json={"email": replica.email,
                                                                 "password": replica.password},
                          timeout=30).json()["access"]
    assert JWT.fullmatch(token.encode())
    monkeypatch.setenv("CM_SECRET_TEST_TOKEN", token)
    monkeypatch.setenv("CM_SECRET_TEST_EMAIL", replica.email)
    monkeypatch.setenv("CM_SECRET_TEST_PASSWORD", replica.password)
    resource = CarbonMapperResource(api_url=replica.api_url, token_env="CM_SECRET_TEST_TOKEN",
                                    email_env="CM_SECRET_TEST_EMAIL", password_env="CM_SECRET_TEST_PASSWORD")
    home, root = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    day = pick_days(replica, count=1)[0]
    instance = DagsterInstance.local_temp(tempdir=str(home))
    try:
        defs = build_definitions(resource, StorageResource(root=str(root)))
        result = defs.resolve_job_def("refresh_days").execute_in_process(
            tags=range_tags(day, day), instance=instance, raise_on_error=False)
        assert result.success
        assert instance.get_run_records()  # the run and its events really are in this storage
    finally:
        instance.dispose()
    assert any(home.rglob("*.db")) and any(root.rglob("*.parquet"))
    needles = [replica.password.encode(), token.encode()]
    # the scan finds what it looks for (a planted copy), so a clean result means something
    control = tmp_path / "control"
    control.mkdir()
    (control / "leak.txt").write_bytes(b"x" + needles[0] + b" " + token.encode())
    assert len(secrets_in(control, needles)) == 3
    assert secrets_in(home, needles) == []
    assert secrets_in(root, needles) == []
