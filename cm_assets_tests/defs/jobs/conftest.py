"""Fixtures of the whole-job tests: small days of the replica world, built once per module."""

from __future__ import annotations

import pytest

from cm_assets_tests.helpers.graph import Built, build_graph, pick_days


@pytest.fixture(scope="module")
def graph_days(replica) -> list[str]:
    return pick_days(replica)


@pytest.fixture(scope="module")
def built(replica, graph_days, tmp_path_factory) -> Built:
    return build_graph(replica, tmp_path_factory.mktemp("graph"), [graph_days[0], graph_days[-1]])
