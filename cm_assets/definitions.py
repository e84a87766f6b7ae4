"""Dagster entry point: every definition under ``cm_assets.defs`` plus the resources."""

from __future__ import annotations

from dagster import Definitions, load_definitions_from_package_module

import cm_assets.defs
from cm_assets.defs.execution import executor_from_environment
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource


def build_definitions(carbonmapper: CarbonMapperResource | None = None,
                      storage: StorageResource | None = None,
                      freshness: FreshnessResource | None = None) -> Definitions:
    """Definitions with the given resources, each one not given bound to the environment (replica,
    ``data/`` and the documented freshness defaults when unset), and the executor the environment
    selects (Dagster's own by default; ``CM_ASSETS_EXECUTOR=celery`` for Celery workers)."""
    return Definitions.merge(
        load_definitions_from_package_module(cm_assets.defs),
        Definitions(resources={"carbonmapper": carbonmapper or CarbonMapperResource.from_environment(),
                               "storage": storage or StorageResource.from_environment(),
                               "freshness": freshness or FreshnessResource.from_environment()},
                    executor=executor_from_environment()),
    )


defs = build_definitions()
