"""The replica's drift switch without a server: validation and the record transform."""

from __future__ import annotations

import pytest

from cm_assets.replica.drift import Drift, apply_to_record


@pytest.mark.parametrize("kwargs", [{"version": "3f"}, {"cmf_type": "xyz"}, {"drop_fields": ("plume_id",)}])
def test_bad_switches_are_refused(kwargs):
    with pytest.raises(ValueError):
        Drift(**kwargs)


def test_record_gains_and_loses_fields():
    record = {"id": "u", "plume_id": "p", "gas": "CH4", "off_nadir": 3.0}
    out = apply_to_record(record, Drift(extra_fields=("plume_score",), drop_fields=("off_nadir",)))
    assert out == {"id": "u", "plume_id": "p", "gas": "CH4", "plume_score": "plume_score-value"}
    assert apply_to_record(record, None) is record
