"""Client fixtures: a logged-in client on the session replica and sample plumes by era."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cm_assets.carbonmapper import CarbonMapperClient, PlumeRecord, SceneNotPublished, SceneRaster
from cm_assets.replica.process import ReplicaProcess

STAC_ERA = ("2025-07-11T00:00:00Z", "2025-12-01T00:00:00Z")  # L3A v3a, L2B v3a in STAC
RECENT_ERA = ("2026-01-01T00:00:00Z", "2026-10-01T00:00:00Z")  # v3c/v3d/v3e, L2B not in STAC


def admin(replica: ReplicaProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{replica.admin_url}{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def client(replica: ReplicaProcess) -> Iterator[CarbonMapperClient]:
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as c:
        yield c


def plume_with_scene(client: CarbonMapperClient, observed: tuple[str, str],
                     instrument: str = "tan") -> tuple[PlumeRecord, SceneRaster]:
    """The first CH4 plume of an era whose L2B parent is published."""
    for plume in client.iter_plumes(gas="CH4", instruments=[instrument], observed=observed,
                                    page_size=20):
        try:
            return plume, client.scene_for_plume(plume)
        except SceneNotPublished:
            continue
    raise AssertionError(f"no plume with a published scene in {observed}")


@pytest.fixture(scope="session")
def stac_plume(client: CarbonMapperClient) -> tuple[PlumeRecord, SceneRaster]:
    return plume_with_scene(client, STAC_ERA)


@pytest.fixture(scope="session")
def recent_plume(client: CarbonMapperClient) -> tuple[PlumeRecord, SceneRaster]:
    return plume_with_scene(client, RECENT_ERA)
