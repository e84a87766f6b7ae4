"""Fixtures of the asset unit tests: the pinned world served in-process, and one day of it taken
through the graph asset by asset (each asset materialized alone, once per session, on one data root)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import ExecuteInProcessResult

from cm_assets.defs.catalog.assets import plume_catalog
from cm_assets.defs.products.assets import ProductsConfig, plume_products
from cm_assets.defs.scenes.assets import CropConfig, scene_crops
from cm_assets.defs.warehouse.assets import warehouse
from cm_assets.storage.store import Storage
from cm_assets_tests.helpers.assets import one_plume_day, run_asset
from cm_assets_tests.helpers.inprocess_replica import InProcessReplica


@pytest.fixture(scope="session")
def local_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessReplica]:
    """The suite's tiny world served on threads of this process; tests must not move its clock."""
    with InProcessReplica(tmp_path_factory.mktemp("local-replica")) as replica:
        yield replica


@dataclass
class Stage:
    """One asset's run for ``day`` on ``root`` (with the earlier stages' files there)."""

    day: str
    root: Path
    result: ExecuteInProcessResult

    @property
    def store(self) -> Storage:
        return Storage(str(self.root))


@pytest.fixture(scope="session")
def day(local_replica) -> str:
    return one_plume_day(local_replica)


@pytest.fixture(scope="session")
def catalog_stage(local_replica, day, tmp_path_factory) -> Stage:
    root = tmp_path_factory.mktemp("one-day")
    return Stage(day, root, run_asset(plume_catalog, local_replica, root, day))


@pytest.fixture(scope="session")
def products_stage(local_replica, catalog_stage) -> Stage:
    config = ProductsConfig(workers=2, figure_workers=0)
    return Stage(catalog_stage.day, catalog_stage.root,
                 run_asset(plume_products, local_replica, catalog_stage.root, catalog_stage.day, config=config))


@pytest.fixture(scope="session")
def crops_stage(local_replica, products_stage) -> Stage:
    config = CropConfig(workers=2, figure_workers=0)
    return Stage(products_stage.day, products_stage.root,
                 run_asset(scene_crops, local_replica, products_stage.root, products_stage.day, config=config))


@pytest.fixture(scope="session")
def warehouse_stage(local_replica, crops_stage) -> Stage:
    return Stage(crops_stage.day, crops_stage.root,
                 run_asset(warehouse, local_replica, crops_stage.root))
