"""Run requests of the job ``refresh_days`` (the day chain and the warehouse: new plumes are queryable
when the run ends; sources and source statistics follow by automation)
with idempotent run keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from dagster import DefaultSensorStatus, RunRequest, sensor

from cm_assets.defs.api_watch.settings import SENSOR_INTERVAL_SECONDS
from cm_assets.defs.execution import IN_PROCESS, TRIGGER_TAG, day_run_config

__all__ = ["IN_PROCESS", "REFRESH_JOB", "TRIGGER_TAG", "api_sensor", "day_run_config", "refresh_request"]

REFRESH_JOB = "refresh_days"


def api_sensor(name: str, description: str, interval_seconds: int = SENSOR_INTERVAL_SECONDS):
    """The decorator of a sensor watching the API: it requests :data:`REFRESH_JOB` runs and is on
    from the start."""
    return sensor(name=name, job_name=REFRESH_JOB, minimum_interval_seconds=interval_seconds,
                  default_status=DefaultSensorStatus.RUNNING, description=description)


def digest(ids: Iterable[str]) -> str:
    """A short stable hash of a set of ids."""
    return hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest()[:16]


def refresh_request(trigger: str, partition: str, ids: Iterable[str], count_tag: str) -> RunRequest:
    """Re-materialize one observation day; the run key (trigger, day, ids) makes repeats harmless."""
    ids = sorted(set(ids))
    return RunRequest(
        run_key=f"{trigger}:{partition}:{digest(ids)}",
        partition_key=partition,
        run_config=day_run_config(),
        tags={TRIGGER_TAG: trigger, f"cm_assets/{count_tag}": str(len(ids))},
    )
