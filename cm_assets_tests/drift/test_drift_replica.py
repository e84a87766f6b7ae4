"""A replica serving a changed API (new version label, cmf-type variant, a new field, a dropped
field): the catalog's drift check warns, the client still resolves and crops the L2B scene."""

from __future__ import annotations

from collections import Counter

import pytest
from dagster import AssetCheckSeverity, DagsterInstance, materialize

from cm_assets.carbonmapper import CarbonMapperClient, Gas, l2b_candidates
from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.catalog.drift import DRIFT_CHECK
from cm_assets.defs.resources import StorageResource
from cm_assets_tests.helpers.replica import replica_process, replica_resource

NEWEST_ERA = ("2026-06-01T00:00:00Z", "2026-10-01T00:00:00Z")  # v3e upstream, v3f on the drifted replica


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    with replica_process(tmp_path_factory.mktemp("drifted"), drift_version="v3f", drift_cmf_type="mfma",
                         drift_extra_field="plume_score", drift_drop_field="off_nadir") as process:
        yield process


@pytest.fixture(scope="module")
def drifted_client(drifted):
    with CarbonMapperClient(drifted.api_url, email=drifted.email, password=drifted.password) as client:
        yield client


def _checks(replica, root, day):
    resources = {"carbonmapper": replica_resource(replica),
                 "storage": StorageResource(root=str(root))}
    result = materialize([plume_catalog], partition_key=day, resources=resources,
                         instance=DagsterInstance.ephemeral())
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _busy_day(client) -> str:
    days = Counter(p["scene_timestamp"][:10] for p in client.iter_plume_payloads(gas=Gas.CH4, observed=NEWEST_ERA))
    return max(sorted(days), key=lambda d: days[d])


def test_drift_check_warns_on_a_changed_api(drifted, drifted_client, tmp_path):
    day = _busy_day(drifted_client)
    checks = _checks(drifted, tmp_path / "drifted", day)
    drift = checks[DRIFT_CHECK]
    assert not drift.passed and drift.severity == AssetCheckSeverity.WARN
    details = {kind: entry["found"] for kind, entry in drift.metadata["details"].data.items()}
    assert set(details) == {"unknown_fields", "missing_fields", "new_versions", "new_collections"}
    assert set(details["unknown_fields"]) == {"plume_score"}
    assert set(details["missing_fields"]) == {"off_nadir"}
    assert set(details["new_versions"]) == {"v3f"}
    assert all(cid.endswith("-v3f") for cid in details["new_collections"])
    assert "l3a-vis-ch4-mfma-v3f" in details["new_collections"]
    assert drift.metadata["url_grammar"].value == 0
    assert drift.metadata["partitions"].text == day
    assert all(c.passed for name, c in checks.items() if name != DRIFT_CHECK)


def test_drift_check_passes_on_the_known_api(replica, tmp_path):
    client = CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password)
    checks = _checks(replica, tmp_path / "known", _busy_day(client))
    assert {name for name, c in checks.items() if not c.passed} == set()


def test_client_resolves_a_new_version_and_cmf_variant_on_day_one(drifted_client):
    plumes = drifted_client.list_plumes(gas=Gas.CH4, observed=NEWEST_ERA, limit=40)
    assert {p.emission_version for p in plumes} == {"v3f"}
    cropped = 0
    for plume in plumes:
        assert str(l2b_candidates(plume, drifted_client.asset_urls)[0]) == "l2b-ch4-mfma-v3f"
        try:
            scene = drifted_client.scene_for_plume(plume)
        except Exception as error:  # unpublished scenes are expected for some plumes
            assert type(error).__name__ == "SceneNotPublished"
            continue
        assert scene.collection == "l2b-ch4-mfma-v3f"
        products = drifted_client.plume_products(plume)
        assert products.concentrations.values.size
        assert scene.crop("cmf", products.outline).values.size
        assert scene.crop("rgb", products.outline).values.shape[0] >= 3
        cropped += 1
        if cropped == 2:
            break
    assert cropped == 2
