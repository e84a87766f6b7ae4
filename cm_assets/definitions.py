"""Dagster entry point: every definition under ``cm_assets.defs`` plus the resources."""

from __future__ import annotations

from dagster import Definitions, load_definitions_from_package_module

import cm_assets.defs
from cm_assets.defs.execution import executor_from_environment
from cm_assets.defs.resources import CarbonMapperResource, StorageResource


def build_definitions(carbonmapper: CarbonMapperResource | None = None,
                      storage: StorageResource | None = None) -> Definitions:
    """Definitions with resources and executor bound to the environment (replica, ``data/`` and
    Dagster's own executor by default; ``CM_ASSETS_EXECUTOR=celery`` for Celery workers)."""
    return Definitions.merge(
        load_definitions_from_package_module(cm_assets.defs),
        Definitions(resources={"carbonmapper": carbonmapper or CarbonMapperResource.from_environment(),
                               "storage": storage or StorageResource.from_environment()},
                    executor=executor_from_environment()),
    )


defs = build_definitions()
