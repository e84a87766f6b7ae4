"""Helpers of the client tests: eras of the replica world, its admin API, a plume with its scene."""

from __future__ import annotations

from typing import Any

import requests

from cm_assets.carbonmapper import CarbonMapperClient, PlumeRecord, SceneNotPublished, SceneRaster
from cm_assets.replica.process import ReplicaProcess

STAC_ERA = ("2025-07-11T00:00:00Z", "2025-12-01T00:00:00Z")  # L3A v3a, L2B v3a in STAC
RECENT_ERA = ("2026-01-01T00:00:00Z", "2026-10-01T00:00:00Z")  # v3c/v3d/v3e, L2B not in STAC


def admin(replica: ReplicaProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{replica.admin_url}{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


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
