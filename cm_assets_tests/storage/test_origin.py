"""A data root holds one API's data: the first run records its origin, a run against another API
is refused."""

from __future__ import annotations

import json

import pytest

from cm_assets.storage import layout
from cm_assets.storage.origin import LOCAL_REPLICA, DataRootOriginError, api_origin, claim_data_root
from cm_assets.storage.store import Storage

pytestmark = pytest.mark.fast

REAL = "https://api.carbonmapper.org/api/v1"


def test_every_loopback_replica_is_one_origin_and_urls_are_compared_as_urls():
    assert {api_origin(f"http://127.0.0.1:{port}/api/v1") for port in (8700, 43071)} == {LOCAL_REPLICA}
    assert api_origin("http://localhost:9000/api/v1") == LOCAL_REPLICA
    assert api_origin("https://API.carbonmapper.org/api/v1/") == api_origin(REAL) == REAL
    assert api_origin("http://replica:8700/api/v1") != LOCAL_REPLICA  # a replica served to a cluster


def test_the_first_claim_records_the_origin_and_the_same_api_may_write_again(tmp_path):
    store = Storage(str(tmp_path))
    claim_data_root(store, "http://127.0.0.1:8700/api/v1")
    claim_data_root(store, "http://127.0.0.1:43071/api/v1")  # the replica again, on another port
    assert json.loads(store.read_bytes(layout.ORIGIN)) == {"api": LOCAL_REPLICA}


def test_another_api_is_refused_with_the_way_out_and_the_record_kept(tmp_path):
    store = Storage(str(tmp_path))
    claim_data_root(store, "http://127.0.0.1:8700/api/v1")
    with pytest.raises(DataRootOriginError) as refused:
        claim_data_root(store, REAL)
    message = str(refused.value)
    assert LOCAL_REPLICA in message and REAL in message and "CM_ASSETS_DATA_ROOT" in message
    assert json.loads(store.read_bytes(layout.ORIGIN)) == {"api": LOCAL_REPLICA}
