"""Scene footprints of source_stats: every box's pages fetched at once give what paging through
each box one page after another gives."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import requests

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.carbonmapper.client import MAX_SCENE_PAGE
from cm_assets.defs.sources.assets import _footprints
from cm_assets.defs.sources.build import regional_bboxes
from cm_assets.sql.schema import conform
from cm_assets.storage import layout
from cm_assets.storage.store import Storage


class HalfPages:
    """The client, answering pages half as long as asked (an API whose page is smaller than ours);
    its listings page through them with the client's own code."""

    iter_scene_footprints = CarbonMapperClient.iter_scene_footprints
    scene_footprints_by_box = CarbonMapperClient.scene_footprints_by_box

    def __init__(self, client: CarbonMapperClient) -> None:
        self._client = client

    def scene_footprint_page(self, offset: int, *filters):
        items, total = self._client.scene_footprint_page(offset, *filters)
        return items[:MAX_SCENE_PAGE // 2], total


@pytest.fixture(scope="module")
def client(local_replica):
    with CarbonMapperClient(local_replica.api_url, email=local_replica.email,
                            password=local_replica.password) as client:
        yield client


@pytest.fixture(scope="module")
def store(client, tmp_path_factory) -> Storage:
    """A sources table of every source of the world."""
    store = Storage(str(tmp_path_factory.mktemp("sources")))
    listing = pd.DataFrame([{"source_name": s.source_name, "lon": s.point.x, "lat": s.point.y}
                            for s in client.list_sources() if s.point is not None])
    store.write_parquet(conform(listing, "sources"), layout.SOURCES)
    return store


def _paged_one_after_another(client, store: Storage) -> set[str]:
    table = store.read_parquet(layout.SOURCES)
    return {scene.name for bbox in regional_bboxes(table["lon"], table["lat"])
            for scene in client.iter_scene_footprints(bbox=bbox) if scene.bounds}


def _catalog_requests(replica) -> int:
    return requests.get(f"{replica.admin_url}/stats", timeout=30).json()["classes"]["catalog"]["requests"]


def test_concurrent_pages_list_every_footprint_once(client, store, local_replica):
    table = store.read_parquet(layout.SOURCES)
    totals = [client.scene_footprint_page(0, bbox)[1] for bbox in regional_bboxes(table["lon"], table["lat"])]
    assert max(totals) > 2 * MAX_SCENE_PAGE  # some box takes three pages or more
    before = _catalog_requests(local_replica)
    with ThreadPoolExecutor(4) as pool:
        footprints = _footprints(client, store, pool)
    assert _catalog_requests(local_replica) - before == sum(math.ceil(t / MAX_SCENE_PAGE) or 1 for t in totals)
    assert set(footprints["name"]) == _paged_one_after_another(client, store)
    assert footprints["name"].is_unique
    assert footprints[["west", "south", "east", "north"]].notna().all().all()


def test_short_pages_are_paged_through_again(client, store):
    halves = HalfPages(client)
    with ThreadPoolExecutor(4) as pool:
        assert set(_footprints(halves, store, pool)["name"]) == _paged_one_after_another(client, store)
