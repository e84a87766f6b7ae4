"""Client fixtures: a logged-in client on the session replica and sample plumes by era."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cm_assets.carbonmapper import CarbonMapperClient, PlumeRecord, SceneRaster
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.client import RECENT_ERA, STAC_ERA, plume_with_scene


@pytest.fixture(scope="session")
def client(replica: ReplicaProcess) -> Iterator[CarbonMapperClient]:
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as c:
        yield c


@pytest.fixture(scope="session")
def stac_plume(client: CarbonMapperClient) -> tuple[PlumeRecord, SceneRaster]:
    return plume_with_scene(client, STAC_ERA)


@pytest.fixture(scope="session")
def recent_plume(client: CarbonMapperClient) -> tuple[PlumeRecord, SceneRaster]:
    return plume_with_scene(client, RECENT_ERA)
