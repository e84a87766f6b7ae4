"""A replica serving a changed API (new version label, cmf-type variant, a new field, a dropped
field): the catalog's drift checks warn, the client still resolves and crops the L2B scene."""

from __future__ import annotations

from collections import Counter

import pytest
from dagster import AssetCheckSeverity, DagsterInstance, materialize

from cm_assets.carbonmapper import CarbonMapperClient, Gas, l2b_candidates
from cm_assets.defs.catalog.assets import plume_catalog
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


def test_drift_checks_warn_on_a_changed_api(drifted, drifted_client, tmp_path):
    day = _busy_day(drifted_client)
    checks = _checks(drifted, tmp_path / "drifted", day)
    failed = {name: c for name, c in checks.items() if name.startswith("drift_") and not c.passed}
    assert set(failed) == {"drift_unknown_fields", "drift_missing_fields", "drift_new_versions",
                           "drift_new_collections"}
    assert all(c.severity == AssetCheckSeverity.WARN for c in failed.values())
    details = {name: c.metadata["details"].data["found"] for name, c in failed.items()}
    assert set(details["drift_unknown_fields"]) == {"plume_score"}
    assert set(details["drift_missing_fields"]) == {"off_nadir"}
    assert set(details["drift_new_versions"]) == {"v3f"}
    assert all(cid.endswith("-v3f") for cid in details["drift_new_collections"])
    assert "l3a-vis-ch4-mfma-v3f" in details["drift_new_collections"]
    assert checks["drift_url_grammar"].passed
    assert all(c.metadata["partitions"].text == day for c in failed.values())
    assert all(c.passed for name, c in checks.items() if not name.startswith("drift_"))


def test_drift_checks_pass_on_the_known_api(replica, tmp_path):
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
