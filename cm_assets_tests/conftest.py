"""Shared fixtures: a session replica (tiny world, seed 7) and a factory for custom ones."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cm_assets.defs.resources import CarbonMapperResource
from cm_assets.replica.process import ReplicaProcess

# Directories whose tests share session-scoped servers (``dagster dev``, PostgreSQL): under
# ``pytest -n N --dist loadgroup`` each runs as one unit on one worker, started first because they are
# the longest; every other test module is a unit of its own.
SHARED_SERVER_DIRS = ("e2e", "deploy")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for parallel workers (see ``SHARED_SERVER_DIRS``)."""
    def group(item: pytest.Item) -> str:
        parts = Path(item.path).relative_to(Path(__file__).parent).parts
        return parts[0] if parts[0] in SHARED_SERVER_DIRS else "/".join(parts)

    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))
    items.sort(key=lambda item: group(item) not in SHARED_SERVER_DIRS)


REPLICA_END = "2026-11-24"
REPLICA_CLOCK_START = "2026-11-25T00:00:00Z"
REPLICA_SEED = 7


CREDENTIAL_ENV = {"email_env": "CM_TEST_CARBONMAPPER_EMAIL", "password_env": "CM_TEST_CARBONMAPPER_PASSWORD"}


def replica_resource(replica: ReplicaProcess) -> CarbonMapperResource:
    """A resource for ``replica`` whose credentials come from the environment, as in production
    (the resource refuses literal secrets); every replica has the same demo account."""
    os.environ[CREDENTIAL_ENV["email_env"]] = replica.email
    os.environ[CREDENTIAL_ENV["password_env"]] = replica.password
    return CarbonMapperResource(api_url=replica.api_url, **CREDENTIAL_ENV)


def _option_args(options: dict[str, Any]) -> list[str]:
    """``rate_limit=5`` → ``["--rate-limit", "5"]``."""
    args: list[str] = []
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def replica_process(data_dir: Path, **options: Any) -> ReplicaProcess:
    """A tiny replica, not started yet (``with replica_process(...) as p`` starts and stops it for
    sure); ``options`` become ``replica serve`` flags."""
    options.setdefault("clock_start", REPLICA_CLOCK_START)
    seed = int(options.pop("seed", REPLICA_SEED))
    scale = str(options.pop("scale", "tiny"))
    end = str(options.pop("end", REPLICA_END))
    return ReplicaProcess(data_dir, seed=seed, scale=scale, end=end,
                          extra_args=_option_args(options))



@pytest.fixture(scope="session")
def replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaProcess]:
    """The shared replica; tests must not move its clock or re-version its plumes."""
    with replica_process(tmp_path_factory.mktemp("replica")) as process:
        yield process


@pytest.fixture
def replica_factory(tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[Callable[..., ReplicaProcess]]:
    """``replica_factory(rate_limit=3, rate_window=60)`` → a fresh replica, stopped after."""
    started: list[ReplicaProcess] = []

    def factory(**options: Any) -> ReplicaProcess:
        process = replica_process(tmp_path_factory.mktemp("replica-custom"), **options).start()
        started.append(process)
        return process

    try:
        yield factory
    finally:
        for process in started:
            process.stop()
