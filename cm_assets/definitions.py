"""Dagster entry point: every definition under ``cm_assets.defs`` plus the resources."""

from __future__ import annotations

from dagster import Definitions, load_definitions_from_package_module

import cm_assets.defs
from cm_assets.defs.resources import CarbonMapperResource, StorageResource


def build_definitions(carbonmapper: CarbonMapperResource | None = None,
                      storage: StorageResource | None = None) -> Definitions:
    """Definitions with resources bound to the environment (replica and ``data/`` by default)."""
    return Definitions.merge(
        load_definitions_from_package_module(cm_assets.defs),
        Definitions(resources={"carbonmapper": carbonmapper or CarbonMapperResource.from_environment(),
                               "storage": storage or StorageResource.from_environment()}),
    )


defs = build_definitions()
