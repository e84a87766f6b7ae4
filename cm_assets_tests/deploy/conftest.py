"""Fixtures of the deployment tests: PostgreSQL, a rate-limited replica shared by every run through
one token, an S3-compatible server, and ``dagster-webserver`` + ``dagster-daemon`` on the
``deploy/dagster.yaml`` instance."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import requests

from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.replica import replica_process
from cm_assets.storage.store import Storage
from cm_assets_tests.deploy.services import BUCKET, MotoS3Server, PostgresServer, postgres_bindir, require_binary
from cm_assets_tests.deploy.stack import DagsterDeployment

# A small shared budget: every run of the deployment presents the same token, so they all draw
# from one sliding window of RATE_LIMIT requests per RATE_WINDOW seconds.
RATE_LIMIT = 8
RATE_WINDOW = 1
# Far-away latency (as the real API's): each request takes at least this long, so a backfill's runs
# last longer than the queue's launch stagger and overlap on a fast machine as on a slow one.
LATENCY_MS = 200


def api_token(replica: ReplicaProcess) -> str:
    """An access token of the demo account (what a service account's CARBONMAPPER_TOKEN holds)."""
    response = requests.post(f"{replica.api_url}/token/pair", timeout=30,
                             json={"email": replica.email, "password": replica.password})
    response.raise_for_status()
    return response.json()["access"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    require_binary("PostgreSQL (Debian package postgresql)", postgres_bindir() is not None and
                   (os.geteuid() != 0 or shutil.which("runuser") is not None))
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    """moto's S3 server with the bucket ``BUCKET``; the AWS_* variables point at it meanwhile.
    fsspec keeps one S3 filesystem per set of arguments, bound to the endpoint of the variables
    when it was made: the cache is cleared so that no module meets another module's server."""
    from s3fs import S3FileSystem

    with MotoS3Server() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in server.env().items():
            patch.setenv(name, value)
        S3FileSystem.clear_instance_cache()
        try:
            Storage(f"s3://{BUCKET}").fs.mkdir(BUCKET)
            yield server
        finally:
            S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def limited_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaProcess]:
    with replica_process(tmp_path_factory.mktemp("replica-limited"), rate_limit=RATE_LIMIT,
                         rate_window=RATE_WINDOW, slow_rate=1, slow_ms=LATENCY_MS) as process:
        yield process


@pytest.fixture(scope="module")
def deployment(postgres: PostgresServer, limited_replica: ReplicaProcess,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDeployment]:
    env = {**postgres.env(), "CARBONMAPPER_API_URL": limited_replica.api_url,
           "CARBONMAPPER_TOKEN": api_token(limited_replica),
           # gRPC calls to the code server get more than the default 60 s on a busy CI machine
           "DAGSTER_GRPC_TIMEOUT_SECONDS": "180"}
    with DagsterDeployment(tmp_path_factory.mktemp("deploy"), env) as deployed:
        yield deployed
