"""Catalog parsing: typed rows, derived columns, quarantine of malformed records."""

from __future__ import annotations

import json

import pytest

from cm_assets.defs.catalog.build import conflicting_duplicates
from cm_assets_tests.helpers.samples import catalog, payload

pytestmark = pytest.mark.fast

DAY = "2026-10-01"


def test_rows_have_every_field_geometry_and_derived_columns():
    frame, quarantine = catalog(DAY, [payload("A"), payload("B", gas="CO2", instrument="GAO")])
    assert list(frame["plume_id"]) == ["tan20261001t181625c77s4001-A", "tan20261001t181625c77s4001-B"]
    assert quarantine.empty
    row = frame.iloc[0]
    assert row.geometry.x == pytest.approx(-103.9) and frame.crs.to_epsg() == 4326
    assert row.scene_name == "tan20261001t181625c77s4001"
    assert row.instrument_name == "Tanager-1"
    # wind from the south (180°) blows north: u ≈ 0, v = +4
    assert row.wind_u == pytest.approx(0, abs=1e-9) and row.wind_v == pytest.approx(4.0)
    assert (row.bounds_west, row.bounds_north) == (-103.92, 32.07)
    assert "Signature" not in row.plume_tif
    assert frame.iloc[1].instrument_name == "Global Airborne Observatory"


def test_malformed_records_are_quarantined_with_the_field_not_dropped():
    broken = [
        payload("B", emission_auto="a lot"),
        payload("C", geometry_json={"type": "Point", "coordinates": [500, 10]}),
        {k: v for k, v in payload("D").items() if k != "id"},
        ["not", "a", "record"],
    ]
    frame, quarantine = catalog(DAY, [payload("A"), *broken])
    assert list(frame["plume_id"]) == ["tan20261001t181625c77s4001-A"]
    assert len(quarantine) == 4
    by_id = quarantine.set_index(quarantine["plume_id"].fillna("?"))
    assert by_id.loc["tan20261001t181625c77s4001-B", "field"] == "emission_auto"
    assert by_id.loc["tan20261001t181625c77s4001-C", "field"] == "geometry_json"
    assert by_id.loc["tan20261001t181625c77s4001-D", "field"] == "id"
    assert json.loads(by_id.loc["tan20261001t181625c77s4001-B", "payload"])["emission_auto"] == "a lot"
    assert set(quarantine["partition"]) == {DAY}
    assert quarantine["quarantined_at"].notna().all()


def test_records_of_another_day_stay_out_of_the_partition():
    frame, _ = catalog(DAY, [payload("A"), payload("B", day="2026-10-02")])
    assert list(frame["plume_id"]) == ["tan20261001t181625c77s4001-A"]


def test_backfill_fetches_consecutive_days_in_chunks():
    from cm_assets.defs.day_records import day_chunks

    days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05", "2026-01-06"]
    assert day_chunks(days) == [days[:3], days[3:]]
    assert day_chunks(days[:3], max_days=2) == [days[:2], days[2:3]]


def test_identical_copies_collapse_and_differing_copies_are_all_quarantined():
    signed_again = payload("A", plume_tif=payload("A")["plume_tif"].replace("abc", "other"))
    frame, quarantine = catalog(DAY, [payload("A"), signed_again,
                                      payload("B"), payload("B", emission_auto=10.0), payload("C")])
    assert list(frame["plume_id"]) == ["tan20261001t181625c77s4001-A", "tan20261001t181625c77s4001-C"]
    assert list(quarantine["plume_id"]) == ["tan20261001t181625c77s4001-B"] * 2
    assert all("duplicate" in r and "emission_auto" in r for r in quarantine["reason"])
    assert sorted(json.loads(p)["emission_auto"] for p in quarantine["payload"]) == [10.0, 950.0]
    assert conflicting_duplicates(quarantine) == 1


def test_record_of_another_day_is_quarantined_but_the_next_midnight_belongs_to_the_next_day():
    stray = payload("A", day="2026-10-05")
    boundary = payload("B", scene_timestamp="2026-10-02T00:00:00Z")
    frame, quarantine = catalog(DAY, [stray, boundary, payload("C")])
    assert list(frame["plume_id"]) == ["tan20261001t181625c77s4001-C"]
    assert list(quarantine["field"]) == ["scene_timestamp"]
    assert "2026-10-05" in quarantine.iloc[0]["reason"]


def test_a_record_goes_to_its_utc_day_else_its_plume_ids_date():
    from cm_assets.defs.day_records import _record_day

    plume = "tan20261002t000000c77s4001-A"
    cases = {"2026-10-01T18:16:25Z": "2026-10-01", "2026-10-01T23:16:25-05:00": "2026-10-02",
             "2026-10-01T18:16:25.123456+00:00": "2026-10-01", "2026-10-01 18:16:25": "2026-10-01",
             "not a time": "2026-10-02", None: "2026-10-02"}
    for stamp, day in cases.items():
        assert _record_day({"scene_timestamp": stamp, "plume_id": plume}, "2026-01-01") == day, stamp
    assert _record_day({"plume_id": "x"}, "2026-01-01") == "2026-01-01"
