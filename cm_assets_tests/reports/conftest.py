"""Fixtures of the on-demand report tests: a plume whose L2B scene is published, a busy source,
and the environment the ``cm-assets`` commands read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from cm_assets.carbonmapper import CarbonMapperClient, Gas
from cm_assets.carbonmapper.errors import SceneNotPublished
from cm_assets_tests.helpers.replica import REPLICA_END


@pytest.fixture(scope="module")
def client(replica):
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as c:
        yield c


@pytest.fixture(scope="module")
def published_plume(client):
    """A CH4 plume observed 60-200 days before the world's end whose L2B scene is published."""
    end = datetime.combine(date.fromisoformat(REPLICA_END), datetime.min.time(), tzinfo=timezone.utc)
    plumes = list(client.iter_plumes(gas=Gas.CH4, observed=(end - timedelta(days=200), end - timedelta(days=60))))
    for record in sorted(plumes, key=lambda p: -(p.emission_auto or 0)):
        try:
            client.scene_for_plume(record)
        except SceneNotPublished:
            continue
        return record
    pytest.fail("no CH4 plume with a published L2B scene in the window")


@pytest.fixture(scope="module")
def busy_source(client):
    """The source with the most attributed plumes."""
    return max(client.list_sources(), key=lambda s: s.plume_count or 0)


@pytest.fixture
def cli_env(replica, monkeypatch, tmp_path):
    """The environment ``cm-assets`` reads: the replica, its demo account, a fresh data root."""
    monkeypatch.setenv("CARBONMAPPER_API_URL", replica.api_url)
    monkeypatch.setenv("CARBONMAPPER_EMAIL", replica.email)
    monkeypatch.setenv("CARBONMAPPER_PASSWORD", replica.password)
    monkeypatch.delenv("CARBONMAPPER_TOKEN", raising=False)
    monkeypatch.delenv("CM_ASSETS_WAREHOUSE", raising=False)
    monkeypatch.setenv("CM_ASSETS_DATA_ROOT", str(tmp_path / "data"))
    return tmp_path / "data"
