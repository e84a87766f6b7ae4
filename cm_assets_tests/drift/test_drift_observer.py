"""The drift rules on crafted records (no HTTP): each finding, and silence on known records."""

from __future__ import annotations

import copy

import pytest
from dagster import AssetCheckSeverity

from cm_assets.carbonmapper.vocabulary import RECORD_FIELDS
from cm_assets.defs.catalog.drift import DRIFT_CHECK, DRIFT_KINDS, DriftObserver

pytestmark = pytest.mark.fast

BASE = "https://cdn.example.org"


def _url(collection: str, item: str, key: str) -> str:
    return f"{BASE}/{collection}/{item[3:7]}/{item[7:9]}/{item[9:11]}/{item}/{item}_{collection}_{key}?Expires=1&Signature=x"


def record(plume_id: str = "tan20260701t101010c01s4001-A", version: str = "v3e", cmf: str = "mfa") -> dict:
    payload = dict.fromkeys(RECORD_FIELDS)
    payload.update(id="00000000-0000-0000-0000-000000000001", plume_id=plume_id, gas="CH4",
                   emission_version=version,
                   plume_tif=_url(f"l3a-vis-ch4-{cmf}-{version}", plume_id, "plume.tif"),
                   con_tif=_url(f"l3a-ime-ch4-{cmf}-{version}", plume_id, "ime-cmf-concentrations.tif"))
    return payload


def findings(payloads) -> dict[str, dict]:
    observer = DriftObserver()
    observer.observe([record("tan20260630t101010c01s4001-A")], "2026-06-30")
    observer.observe(payloads, "2026-07-01")
    (result,) = observer.results()
    assert result.check_name == DRIFT_CHECK and result.severity == AssetCheckSeverity.WARN
    details = result.metadata["details"].data
    assert result.passed == (not details)
    assert result.metadata["partitions"].text == ("" if result.passed else "2026-07-01")
    assert all(result.metadata[kind].value == len(details[kind]["found"]) if kind in details
               else result.metadata[kind].value == 0 for kind in DRIFT_KINDS)
    assert all(kind.replace("_", " ") in result.description for kind in details)
    assert all(entry["partitions"] == ["2026-07-01"] for entry in details.values())
    return {kind: entry["found"] for kind, entry in details.items()}


def test_known_records_raise_nothing():
    assert findings([record(), record("emi20260702t101010p00001-B", "v3e", "mfma")]) == {}
    assert findings([]) == {}


def test_each_kind_of_drift_is_reported():
    new_field = record() | {"plume_score": 0.9}
    missing = {k: v for k, v in record("tan20260701t101010c01s4001-B").items() if k != "off_nadir"}
    new_version = record("tan20260701t101010c01s4001-C", "v3f", "mfa")
    new_cmf = record("tan20260701t101010c01s4001-D", "v3e", "mfmx")
    bad_url = record("tan20260701t101010c01s4001-E") | {"plume_tif": "https://cdn.example.org/flat/plume.tif"}
    found = findings([new_field, missing, new_version, new_cmf, bad_url])
    assert found["unknown_fields"] == {"plume_score": 1}
    assert found["missing_fields"] == {"off_nadir": 1}
    assert list(found["new_versions"]) == ["v3f"]
    assert found["new_collections"]["l3a-vis-ch4-mfmx-v3e"]["new"] == "cmf type mfmx"
    assert found["new_collections"]["l3a-vis-ch4-mfa-v3f"]["new"] == "version v3f"
    assert found["url_grammar"] == {"plume_tif": {"plumes": 1, "examples": ["tan20260701t101010c01s4001-E"]}}


@pytest.mark.parametrize("collection", ["l9z-ch4-mfa-v3e", "l3a-vis-ch4-mfa-3e"])
def test_unparseable_or_unknown_collection_families(collection):
    payload = copy.deepcopy(record())
    payload["plume_tif"] = _url(collection, payload["plume_id"], "plume.tif")
    found = findings([payload])
    assert ("url_grammar" in found) or ("new_collections" in found)
