"""Asset-check rules pass on good data and fail on purpose-made bad data."""

from __future__ import annotations

import pandas as pd
import pytest
from dagster import AssetCheckSeverity
from shapely.geometry import Polygon

from cm_assets.defs import checks
from cm_assets.defs.catalog.assets import catalog_checks, plume_catalog
from cm_assets.defs.products.assets import plume_products
from cm_assets.defs.scenes.assets import scene_crops
from cm_assets.storage.layout import catalog_day
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.samples import catalog, payload

pytestmark = pytest.mark.fast


def _by_name(results):
    return {r.check_name: r for r in results}


def test_catalog_checks_pass_on_good_partitions(tmp_path):
    store = Storage(str(tmp_path))
    frame, _ = catalog("2026-10-01", [payload("A"), payload("B")])
    store.write_parquet(frame, catalog_day("2026-10-01"))
    results = _by_name(catalog_checks(frame, store))
    assert all(r.passed for r in results.values()), results


def test_negative_emission_and_duplicate_ids_across_partitions_fail(tmp_path):
    store = Storage(str(tmp_path))
    first, _ = catalog("2026-10-01", [payload("A")])
    store.write_parquet(first, catalog_day("2026-10-01"))
    # the same plume_id written into another day's file, plus a negative emission
    second = first.copy()
    second["observation_day"] = "2026-10-02"
    second.loc[0, "emission_auto"] = -5.0
    store.write_parquet(second, catalog_day("2026-10-02"))
    results = _by_name(catalog_checks(second, store))
    assert not results["unique_plume_ids"].passed
    assert results["unique_plume_ids"].metadata["duplicates"].value == 1
    assert not results["non_negative_emissions"].passed
    assert results["schema"].passed


def test_schema_check_flags_missing_columns_and_null_required_fields():
    frame, _ = catalog("2026-10-01", [payload("A")])
    broken = frame.drop(columns=["sector"])
    broken.loc[0, "instrument"] = None
    result = checks.check_schema(broken, "plumes", checks.REQUIRED_PLUME_FIELDS)
    assert not result.passed
    assert "sector" in result.metadata["missing_columns"].value


def test_invalid_geometry_fails():
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    good = Polygon([(0, 0), (1, 0), (1, 1), (0, 0)])
    frame = pd.DataFrame({"plume_id": ["a", "b", "c"], "geometry": [good, bowtie, None]})
    result = checks.check_geometries(frame)
    assert not result.passed and result.metadata["invalid"].value == 1


def test_ime_agreement_and_artifact_overlap_warn():
    frame = pd.DataFrame({"plume_id": ["a", "b", "c"], "emission_ratio": [1.0, 1.01, 1.4],
                          "artifact_fraction": [0.0, 0.5, None]})
    ime = checks.check_ime_agreement(frame)
    assert not ime.passed and ime.severity == AssetCheckSeverity.WARN
    assert ime.metadata["disagreeing"].value == 1
    artifacts = checks.check_artifact_overlap(frame)
    assert not artifacts.passed and artifacts.severity == AssetCheckSeverity.WARN
    assert checks.check_ime_agreement(frame.iloc[:2]).passed


def test_nodata_fraction():
    frame = pd.DataFrame({"plume_id": ["a", "b"], "cmf_nodata_fraction": [0.1, 1.0]})
    assert not checks.check_nodata(frame, "cmf_nodata_fraction", "crop_nodata_fraction").passed
    assert checks.check_nodata(frame.iloc[:1], "cmf_nodata_fraction", "crop_nodata_fraction").passed


def test_non_negative_check_flags_nan_and_inf_where_null_is_distinct():
    frame = pd.DataFrame({"plume_id": ["a", "b", "c", "d", "e"],
                          "emission_auto": pd.Series([1.0, float("nan"), float("inf"), None, 0.0], dtype=object)})
    result = checks.check_non_negative(frame, ["emission_auto"])
    assert not result.passed and result.metadata["negative"].value == 2
    assert result.metadata["negative_ids"].value == "b, c"
    stored = pd.DataFrame({"plume_id": ["a", "b", "c"], "emission_auto": [1.0, float("nan"), -float("inf")]})
    assert checks.check_non_negative(stored, ["emission_auto"]).metadata["negative_ids"].value == "c"


def test_every_check_is_described_and_bad_data_blocks_downstream():
    specs = {spec.name: spec for asset in (plume_catalog, plume_products, scene_crops) for spec in asset.check_specs}
    assert set(checks.DESCRIPTIONS) <= set(specs)
    assert all(spec.description for spec in specs.values())
    assert {name for name, spec in specs.items() if spec.blocking} == {"schema", "unique_plume_ids"}


def test_quarantined_copies_warn_while_stored_duplicates_fail():
    only_quarantined = checks.check_unique_ids(pd.Series(["a", "b"]), conflicting=1)
    stored_twice = checks.check_unique_ids(pd.Series(["a", "a"]))
    assert not only_quarantined.passed and only_quarantined.severity == AssetCheckSeverity.WARN
    assert not stored_twice.passed and stored_twice.severity == AssetCheckSeverity.ERROR


def test_catalog_checks_on_the_checked_columns_only_see_the_written_columns(tmp_path):
    from cm_assets.defs.catalog.assets import CHECKED

    store = Storage(str(tmp_path))
    frame, _ = catalog("2026-10-01", [payload("A"), payload("B")])
    store.write_parquet(frame, catalog_day("2026-10-01"))
    kept = frame[CHECKED]
    ok = _by_name(catalog_checks(kept, store, days={"2026-10-01"}, columns=set(frame.columns)))
    assert all(r.passed for r in ok.values()), ok
    without = set(frame.columns) - {"sector"}
    broken = _by_name(catalog_checks(kept, store, days={"2026-10-01"}, columns=without))
    assert not broken["schema"].passed and "sector" in broken["schema"].metadata["missing_columns"].value
