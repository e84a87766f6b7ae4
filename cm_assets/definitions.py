"""Dagster entry point: every definition under ``cm_assets.defs`` plus the resources."""

from __future__ import annotations

import warnings

from dagster import Definitions, PreviewWarning, load_definitions_from_package_module

import cm_assets.defs
from cm_assets.defs.execution import executor_from_environment
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource


def domain_definitions() -> Definitions:
    """Every definition in the modules under ``cm_assets.defs``. The loader is a preview API in the
    pinned Dagster release; its notice, printed by every process that loads the definitions, is
    silenced here and nowhere else. (The stable ``load_from_defs_folder`` also scans every installed
    package's entry points for UI components: 0.1–0.2 s more for each process that loads them,
    every run and step worker; one-off measurement.)"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Function `load_definitions_from_", PreviewWarning)
        return load_definitions_from_package_module(cm_assets.defs)


def build_definitions(carbonmapper: CarbonMapperResource | None = None,
                      storage: StorageResource | None = None,
                      freshness: FreshnessResource | None = None) -> Definitions:
    """Definitions with the given resources, each one not given bound to the environment (replica,
    ``data/`` and the documented freshness defaults when unset), and the executor the environment
    selects (Dagster's own by default; ``CM_ASSETS_EXECUTOR=celery`` for Celery workers)."""
    return Definitions.merge(
        domain_definitions(),
        Definitions(resources={"carbonmapper": carbonmapper or CarbonMapperResource.from_environment(),
                               "storage": storage or StorageResource.from_environment(),
                               "freshness": freshness or FreshnessResource.from_environment()},
                    executor=executor_from_environment()),
    )


defs = build_definitions()
