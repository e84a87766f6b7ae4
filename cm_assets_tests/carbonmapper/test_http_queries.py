"""Catalog, source and scene queries against the replica."""

from __future__ import annotations

import itertools

import pytest

from cm_assets.carbonmapper import (CarbonMapperClient, Gas, Instrument, PlumeNotFound,
                                   PlumeRecord, SourceNotFound)

from cm_assets.carbonmapper.urls import strip_signature
from cm_assets.carbonmapper.vocabulary import URL_FIELDS

from cm_assets_tests.helpers.client import STAC_ERA

WINDOW = ("2025-01-01T00:00:00Z", "2025-12-31T23:59:59Z")


def test_iter_plumes_paginates_to_total_count(client: CarbonMapperClient):
    total = client.count_plumes(gas="CH4", observed=WINDOW)
    assert total > 60
    ids = [p.plume_id for p in client.iter_plumes(gas="CH4", observed=WINDOW, page_size=25)]
    assert len(ids) == total == len(set(ids))
    one_page = [p["plume_id"] for p in client.iter_plume_payloads(gas="CH4", observed=WINDOW)]
    assert one_page == ids  # same order (sort=asc) whatever the page size
    with pytest.raises(ValueError):
        next(client.iter_plume_payloads(page_size=1001))


def test_plume_filters_are_applied(client: CarbonMapperClient):
    bbox = (-105.0, 31.0, -102.0, 33.5)
    plumes = list(itertools.islice(client.iter_plumes(
        gas="CH4", instruments=["TAN"], bbox=bbox, observed=WINDOW, emission_min=100,
        emission_max=5000, qualities=["good", "questionable"], page_size=50), 200))
    assert plumes
    for p in plumes:
        assert p.gas is Gas.CH4 and p.instrument is Instrument.TAN
        assert bbox[0] <= p.lon <= bbox[2] and bbox[1] <= p.lat <= bbox[3]
        assert 100 <= p.emission_auto <= 5000
        assert WINDOW[0][:10] <= p.scene_timestamp.date().isoformat() <= WINDOW[1][:10]
    sector = plumes[0].sector
    assert all(p.sector == sector for p in client.iter_plumes(sectors=[sector], observed=WINDOW))
    published = (plumes[0].published_at, None)
    assert all(p.published_at >= plumes[0].published_at
               for p in client.iter_plumes(published=published, observed=WINDOW))


def _unsigned(record: PlumeRecord) -> dict:
    """A record without its signed URLs' query strings: a signature's expiry follows the second it
    was issued in, so two reads of one record may differ there and nowhere else."""
    return {k: strip_signature(v) if k in URL_FIELDS else v for k, v in record.model_dump().items()}


def test_get_plume_by_name_and_uuid(client: CarbonMapperClient):
    first = next(client.iter_plumes(observed=WINDOW, page_size=1))
    assert _unsigned(client.get_plume(first.plume_id)) == _unsigned(first)
    assert client.get_plume(first.id).plume_id == first.plume_id
    with pytest.raises(PlumeNotFound) as info:
        client.get_plume("tan29991231t000000c00s4001-Z")
    assert info.value.plume_id == "tan29991231t000000c00s4001-Z"


def test_plume_csv_matches_json(client: CarbonMapperClient):
    rows = list(client.iter_plumes_csv(gas="CH4", observed=WINDOW, page_size=40))
    plumes = {p.plume_id: p for p in client.iter_plumes(gas="CH4", observed=WINDOW)}
    assert [r.plume_id for r in rows] == list(plumes)
    for row in rows[:50]:
        plume = plumes[row.plume_id]
        assert row.sector == plume.sector and row.instrument == plume.instrument
        assert row.emission_auto == pytest.approx(plume.emission_auto) if plume.emission_auto else True
        assert row.point.distance(plume.point) < 1e-4


def test_sources_listing_detail_and_plumes(client: CarbonMapperClient):
    sources = client.list_sources(bbox=(-125.0, 25.0, -66.0, 50.0), gas="CH4")
    assert sources and all("?" not in s.source_name for s in sources)
    busiest = max(sources, key=lambda s: s.plume_count or 0)
    detail = client.get_source(busiest.source_name + "?plume_gas=CH4")
    assert detail.source_name == busiest.source_name
    assert detail.point.distance(busiest.point) < 1e-4
    assert detail.plume_count == busiest.plume_count and detail.scenes
    plumes = client.plumes_for_source(busiest.source_name)
    assert [p.plume_id for p in plumes] == [p.plume_id for p in detail.plumes]
    assert all(isinstance(p, PlumeRecord) for p in plumes)
    back = client.source_for_plume(plumes[0].plume_id)
    assert back is not None and back.source_name == busiest.source_name
    with pytest.raises(SourceNotFound) as info:
        client.get_source("CH4_1B2_100m_0.00000_0.00000?x=1")
    assert info.value.source_name == "CH4_1B2_100m_0.00000_0.00000"
    assert client.source_for_plume("tan29991231t000000c00s4001-Z") is None
    gas_only = client.list_sources(gas="CO2")
    assert all(s.gas is Gas.CO2 for s in gas_only)


def test_stac_search_pages_and_ids(client: CarbonMapperClient):
    items = list(client.search_scenes("l2b-ch4-mfa-v3a", datetime=STAC_ERA, page_size=7))
    names = [i.scene_name for i in items]
    assert len(names) > 7 and len(set(names)) == len(names)
    assert all(i.collection == "l2b-ch4-mfa-v3a" and i.bbox and "cmf.tif" in i.asset_urls for i in items)
    picked = names[:3]
    assert {i.scene_name for i in client.search_scenes(["l2b-ch4-mfa-v3a"], ids=picked)} == set(picked)
    west, south, east, north = items[0].bbox
    in_box = list(client.search_scenes("l2b-ch4-mfa-v3a", bbox=(west, south, east, north)))
    assert items[0].scene_name in {i.scene_name for i in in_box}


def test_scene_footprints_page_through(client: CarbonMapperClient):
    footprints = list(client.iter_scene_footprints(observed=WINDOW, instruments=["tan"]))
    assert len(footprints) > 100  # more than one page of 100
    assert len({f.name for f in footprints}) == len(footprints)
    assert all(f.instrument is Instrument.TAN and f.geometry is not None for f in footprints)


def test_tiles_for_source(client: CarbonMapperClient):
    sources = sorted(client.list_sources(gas="CH4"), key=lambda s: -(s.plume_count or 0))
    for source in sources[:10]:
        tiles = client.tiles_for_source(source.source_name)
        if tiles:
            scene_names = {p.scene_name for p in client.plumes_for_source(source.source_name)}
            assert {t.scene_name for t in tiles} <= scene_names
            return
    pytest.fail("no source with a STAC-resident tile")
