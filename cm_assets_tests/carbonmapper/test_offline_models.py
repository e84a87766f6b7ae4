"""Models, enums, collection ids: no network."""

from __future__ import annotations

import pytest

from cm_assets.carbonmapper import (CollectionId, Gas, Instrument, PlumeCsvRow, PlumeRecord,
                                   RecordError, Sector, SourceDetail, SourceSummary, parse_sector)
from cm_assets.carbonmapper.models import SceneItem

pytestmark = pytest.mark.fast

PLUME_ID = "tan20260331t181625c77s4001-D"


def record(**overrides):
    payload = {
        "id": "8a1c6f0e-0000-4000-8000-000000000001", "plume_id": PLUME_ID, "gas": "CH4",
        "geometry_json": {"type": "Point", "coordinates": [-93.35926, 32.37809]},
        "scene_id": "0589e686-c524-4c79-b5b5-c0af09c9f2b1",
        "scene_timestamp": "2026-03-31T18:16:25Z", "instrument": "tan",
        "emission_auto": 1953.9, "wind_speed_avg_auto": 4.74, "wind_direction_avg_auto": 185.8,
        "emission_version": "v3d", "sector": "1B2", "plume_bounds": [-93.37, 32.36, -93.34, 32.39],
        "status": "published", "hide_emission": False, "cmf_type": "mfa",
        "plume_tif": "https://catalog.example/l3a-vis-ch4-mfa-v3d/2026/03/31/" + PLUME_ID + "/"
                     + PLUME_ID + "_l3a-vis-ch4-mfa-v3d_plume.tif?Expires=1&Signature=x&Key-Pair-Id=k",
        "brand_new_upstream_field": {"kept": True},
    }
    payload.update(overrides)
    return payload


def test_plume_record_fields_and_derived_properties():
    plume = PlumeRecord.parse(record())
    assert plume.scene_name == "tan20260331t181625c77s4001"
    assert plume.version == "v3d"
    assert plume.gas is Gas.CH4 and plume.instrument is Instrument.TAN
    assert plume.instrument_name == "Tanager-1"
    assert (plume.lon, plume.lat) == (-93.35926, 32.37809)
    assert plume.observation_datetime.isoformat() == "2026-03-31T18:16:25+00:00"
    assert plume.plume_bounds == (-93.37, 32.36, -93.34, 32.39)
    assert plume.sector is Sector.OIL_GAS
    # u, v from meteorological direction (spec sample: about (0.48, 4.72)).
    assert plume.wind_u == pytest.approx(0.48, abs=0.01)
    assert plume.wind_v == pytest.approx(4.72, abs=0.01)
    assert plume.model_extra == {"brand_new_upstream_field": {"kept": True}}


def test_plume_record_nullable_fields_and_unknown_sector_kept():
    plume = PlumeRecord.parse({"id": "8a1c6f0e-0000-4000-8000-000000000002", "plume_id": "GAO20230615t202019p0000-A", "gas": "co2",
                               "instrument": "gao", "sector": "3A", "wind_speed_avg_auto": None})
    assert plume.gas is Gas.CO2 and plume.instrument is Instrument.GAO
    assert plume.instrument.value == "GAO"
    assert plume.sector == "3A" and plume.wind_u is None and plume.point is None


@pytest.mark.parametrize(("change", "field"), [
    ({"gas": "N2O"}, "gas"),
    ({"emission_auto": "lots"}, "emission_auto"),
    ({"plume_bounds": [1, 2, 3]}, "plume_bounds"),
    ({"scene_timestamp": "yesterday"}, "scene_timestamp"),
    ({"plume_id": "not a plume id"}, "plume_id"),
    ({"geometry_json": {"type": "Point", "coordinates": "x"}}, "geometry_json"),
    ({"instrument": "landsat"}, "instrument"),
    ({"plume_bounds": 5}, "plume_bounds"),
    ({"plume_bounds": [1, None, 3, 4]}, "plume_bounds"),
    ({"plume_bounds": "[1, 2,"}, "plume_bounds"),
    ({"plume_bounds": [-100.0, 40.0, -101.0, 41.0]}, "plume_bounds"),
    ({"plume_bounds": [float("nan"), 40.0, -101.0, 41.0]}, "plume_bounds"),
    ({"plume_bounds": [-100.0, 40.0, -99.0, 95.0]}, "plume_bounds"),
    ({"emission_auto": float("nan")}, "emission_auto"),
    ({"emission_auto": float("inf")}, "emission_auto"),
    ({"emission_auto": -1.0}, "emission_auto"),
    ({"emission_uncertainty_auto": -0.5}, "emission_uncertainty_auto"),
    ({"wind_speed_avg_auto": float("inf")}, "wind_speed_avg_auto"),
    ({"plume_id": "tan20251212t185057c20s4001" + "x" * 300 + "-A"}, "plume_id"),
    ({"plume_id": "tan20251312t185057c20s4001-A"}, "plume_id"),
    ({"plume_id": "tan20251212t185057c20s4001-A/../x"}, "plume_id"),
    ({"id": "not-a-uuid"}, "id"),
])
def test_record_error_names_field_and_keeps_payload(change, field):
    payload = record(**change)
    with pytest.raises(RecordError) as info:
        PlumeRecord.parse(payload)
    assert info.value.field == field
    assert info.value.payload is payload
    assert info.value.plume_id == payload["plume_id"]
    assert field in str(info.value)
    assert "Signature=x" not in str(info.value)


def test_missing_required_field():
    with pytest.raises(RecordError) as info:
        PlumeRecord.parse({"plume_id": PLUME_ID, "gas": "CH4"})
    assert info.value.field == "id"


def test_csv_row_coercion():
    row = PlumeCsvRow.parse({
        "\ufeffplume_id": PLUME_ID, "plume_latitude": "32.37809", "plume_longitude": "-93.35926",
        "datetime": "2026-03-31T18:16:25Z", "ipcc_sector": "Oil & Gas (1B2)", "gas": "CH4",
        "plume_bounds": "[-93.37, 32.36, -93.34, 32.39]", "instrument": "tan",
        "emission_auto": "", "gsd": "30.1", "hide_emission": "false", "wind_source_auto": "",
        "country": "United States",
    })
    assert row.plume_id == PLUME_ID and row.sector is Sector.OIL_GAS
    assert row.emission_auto is None and row.wind_source_auto is None
    assert row.gsd == 30.1 and row.hide_emission is False
    assert row.plume_bounds == (-93.37, 32.36, -93.34, 32.39)
    assert row.point.x == -93.35926 and row.scene_name == "tan20260331t181625c77s4001"


@pytest.mark.parametrize(("raw", "code"), [
    ("Oil & Gas (1B2)", Sector.OIL_GAS), ("Livestock (4B)", Sector.LIVESTOCK), ("NA", Sector.NA),
    ("Other", Sector.OTHER), ("1b1a", Sector.COAL_MINING), ("", None), (None, None),
    ("Rice (3C7)", "3C7"),
])
def test_parse_sector(raw, code):
    assert parse_sector(raw) == code


def test_instrument_case_insensitive_and_upstream_spelling():
    assert Instrument("TAN") is Instrument.TAN and Instrument("Gao") is Instrument.GAO
    assert [i.value for i in Instrument][:5] == ["tan", "emi", "ang", "av3", "GAO"]
    with pytest.raises(ValueError):
        Instrument("landsat")


@pytest.mark.parametrize(("cid", "family", "gas", "cmf", "version", "resident"), [
    ("l3a-vis-ch4-mfa-v3a", "l3a-vis", "ch4", "mfa", "v3a", True),
    ("l3a-ime-co2-mfal-v3e", "l3a-ime", "co2", "mfal", "v3e", False),
    ("l2b-ch4-mfa-v3c", "l2b", "ch4", "mfa", "v3c", False),
    ("l2b-rgb-v3a", "l2b-rgb", None, None, "v3a", True),
    ("l2b-ch4-mf-v1", "l2b", "ch4", "mf", "v1", True),
    ("l3a-ch4-mf-v1", "l3a", "ch4", "mf", "v1", True),
    ("l4a-ch4-mfa-jpl", "l4a", "ch4", "mfa", "jpl", True),
    ("l3a-vis-ch4-mf-v002", "l3a-vis", "ch4", "mf", "v002", True),
])
def test_collection_id(cid, family, gas, cmf, version, resident):
    parsed = CollectionId.parse(cid)
    assert (parsed.family, parsed.gas, parsed.cmf_type, parsed.version) == (family, gas, cmf, version)
    assert parsed.is_stac_resident is resident
    assert str(parsed) == cid


def test_collection_id_rejects_garbage_and_derives_l2b():
    with pytest.raises(ValueError):
        CollectionId.parse("plumes")
    vis = CollectionId.parse("l3a-vis-ch4-mfa-v3d")
    assert str(vis.l2b()) == "l2b-ch4-mfa-v3d" and str(vis.l2b_rgb()) == "l2b-rgb-v3d"


def test_source_summary_strips_query_suffix():
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-117.26768, 34.59375]},
               "properties": {"source_name": "CH4_6A_500m_-117.26768_34.59375?plume_gas=CH4&bbox=1",
                              "gas": "CH4", "sector": "6A", "plume_count": "3", "persistence": 0.5,
                              "emission_auto": None, "timestamp_min": "2024-01-02T03:04:05Z",
                              "observation_date_count": 4, "detection_date_count": 2}}
    src = SourceSummary.from_feature(feature)
    assert src.source_name == "CH4_6A_500m_-117.26768_34.59375"
    assert src.point.x == -117.26768 and src.plume_count == 3 and src.sector is Sector.SOLID_WASTE
    assert src.raw["source_name"].endswith("bbox=1")


def test_source_detail_flattens_nested_stats():
    detail = SourceDetail.from_payload({
        "source_name": "CH4_1B2_100m_-104.17525_32.49125",
        "point": {"type": "Point", "coordinates": [-104.17525, 32.49125]},
        "source": {"sector": "1B2", "persistence": 0.047619047619047616,
                   "emission_auto": 47.98363987937913, "gas": "CH4"},
        "plumes": [record(plume_id="tan20251212t185057c20s4001-E")],
        "scenes": [{"id": "x", "name": "tan20251212t185057c20s4001",
                    "timestamp": "2025-12-12T18:50:57Z", "instrument": "tan"}],
        "observation_dates": ["2025-12-12"], "detection_dates": ["2025-12-12"],
    })
    assert detail.persistence == pytest.approx(0.0476, abs=1e-4) and detail.sector is Sector.OIL_GAS
    assert detail.plume_count == 1 and detail.plumes[0].scene_name == detail.scenes[0].name
    assert str(detail.observation_dates[0]) == "2025-12-12"


def test_scene_item_from_stac():
    item = SceneItem.from_stac_item({
        "id": "tan20251212t185057c20s4001", "collection": "l2b-ch4-mfa-v3a",
        "bbox": [-104.5861937, 31.6662665, -103.9359726, 33.0604707],
        "geometry": {"type": "Polygon", "coordinates": [[[-104.5, 31.7], [-103.9, 31.7],
                                                         [-103.9, 33.0], [-104.5, 31.7]]]},
        "properties": {"datetime": "2025-12-12T18:50:57Z", "platform": "tan"},
        "assets": {"cmf.tif": {"href": "https://a/b.tif"}},
    })
    assert item.scene_name == "tan20251212t185057c20s4001" and item.platform == "tan"
    assert item.asset_urls == {"cmf.tif": "https://a/b.tif"} and item.geometry.geom_type == "Polygon"


@pytest.mark.parametrize("text", ["20251212t185057", "20240229t000000", "20230229t000000", "20251312t185057",
                                  "20251232t185057", "20251212t245057", "20251212t186057", "20251212t185060",
                                  "20251212T185057", "2025121t2185057", "20251212t18505x", "2025-1-12t185057"])
def test_compact_instant_agrees_with_strptime(text):
    from datetime import datetime

    from cm_assets.carbonmapper.models import compact_instant

    try:
        expected = datetime.strptime(text, "%Y%m%dt%H%M%S")
    except ValueError:
        expected = None
    try:
        got = compact_instant(text)
    except ValueError:
        got = None
    assert got == expected


@pytest.mark.parametrize("value", [
    {"type": "Point", "coordinates": [-93.35926, 32.37809]}, {"type": "Point", "coordinates": [1, 2]},
    {"type": "Point", "coordinates": [1.0, 2.0, 3.0]}, {"type": "Point", "coordinates": [float("nan"), 2.0]},
    {"type": "Point", "coordinates": []}, {"type": "Point", "coordinates": [1.0]}, {"type": "Point", "coordinates": "x"},
    {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, {"type": "Point"}, "POINT (1 2)",
])
def test_a_geojson_point_is_accepted_exactly_when_shapely_reads_a_point(value):
    from cm_assets.carbonmapper.models import _point, _point_json

    def outcome(check):
        try:
            check(value)
        except ValueError:
            return False
        return True

    assert outcome(_point_json) == outcome(_point)
