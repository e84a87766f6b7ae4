"""Shared fixtures: a session replica (tiny world, seed 7) and a factory for custom ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.replica import replica_process

# Directories whose tests share session-scoped servers (``dagster dev``, PostgreSQL, the in-process
# replica and its one-day stages): under ``pytest -n N --dist loadgroup`` each runs as one unit on one
# worker, and these units start first (e2e and deploy are the longest); every other test module is a
# unit of its own.
SHARED_SERVER_DIRS = ("e2e", "deploy", "defs")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for parallel workers (see ``SHARED_SERVER_DIRS``)."""
    def group(item: pytest.Item) -> str:
        parts = Path(item.path).relative_to(Path(__file__).parent).parts
        return parts[0] if parts[0] in SHARED_SERVER_DIRS else "/".join(parts)

    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))
    items.sort(key=lambda item: group(item) not in SHARED_SERVER_DIRS)


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
