"""Shared fixtures: a session replica (tiny world, seed 7) and a factory for custom ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cm_assets.defs import figures
from cm_assets.replica.process import ReplicaProcess
from cm_assets_tests.helpers.replica import replica_process

# Tests that share session-scoped servers run as one unit on one worker under
# ``pytest -n N --dist loadgroup``, and these units start first (e2e and deploy are the longest):
# the directories whose tests share ``dagster dev`` or PostgreSQL, and the tests that use the
# in-process replica (and its one-day stages, ``cm_assets_tests/defs/conftest.py``) wherever they
# are under ``defs/``. Every other test module is a unit of its own (the whole-job tests of
# ``defs/jobs/`` among them, so the two workers share those out).
SHARED_SERVER_DIRS = ("e2e", "deploy")
IN_PROCESS_REPLICA = "local_replica"


def xdist_group(item: pytest.Item) -> str:
    """The unit ``item`` belongs to (see ``SHARED_SERVER_DIRS``)."""
    parts = Path(item.path).relative_to(Path(__file__).parent).parts
    if parts[0] in SHARED_SERVER_DIRS:
        return parts[0]
    if IN_PROCESS_REPLICA in getattr(item, "fixturenames", ()):
        return "in-process replica"
    return "/".join(parts)


@pytest.fixture(autouse=True)
def _pictures_counted_per_test() -> Iterator[None]:
    """Each test's runs count their pictures afresh, as a new run process does: whether a picture is
    drawn in the test's process or by figure workers never depends on the tests run before."""
    yield
    figures.shutdown_pools()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for parallel workers (see ``SHARED_SERVER_DIRS``)."""
    groups = {item: xdist_group(item) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    items.sort(key=lambda item: "/" in groups[item])


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
