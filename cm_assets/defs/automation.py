"""Declarative automation of the assets downstream of the day partitions: ``sources``,
``source_stats`` and ``warehouse`` follow what the sensors and schedules materialize.

Sensors watch the outside world (the API) and request runs of the day partitions with the warehouse
(new plumes are queryable when such a run ends); Dagster's automation sensor then requests
sources and source statistics once the batch's runs have all finished, so a sensor batch of N days
costs one sources refresh, not N, and the warehouse follows them once more.
"""

from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

from cm_assets.defs.execution import TRIGGER_TAG

AUTOMATION_SENSOR = "automation_condition_sensor"
AUTOMATION_TRIGGER = "automation"
SOURCES_CRON = "0 4 * * *"
"""Daily, 04:00 UTC: sources are re-listed even without a new plume (Carbon Mapper clusters plumes into
sources after they publish)."""


def after_upstream_settles() -> AutomationCondition:
    """Dagster's ``eager()`` without its missing-dependency guard: true once a dependency updated since
    this asset was last requested or updated, and no dependency (any day partition) or the asset
    itself is in a run still queued or running. Most day partitions are never materialized, so
    ``eager()`` as is would never fire on an asset depending on all of them."""
    return AutomationCondition.eager().without(~AutomationCondition.any_deps_missing()) \
        .with_label("after_upstream_settles")


def after_upstream_settles_or_daily(cron: str = SOURCES_CRON) -> AutomationCondition:
    """:func:`after_upstream_settles`, or once after each tick of ``cron`` (UTC)."""
    return after_upstream_settles().replace(
        "any_deps_updated",
        AutomationCondition.any_deps_updated() | AutomationCondition.cron_tick_passed(cron, "UTC"),
    ).with_label("after_upstream_settles_or_daily")


automation_condition_sensor = AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR,
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    run_tags={TRIGGER_TAG: AUTOMATION_TRIGGER},
    description="Evaluates the automation conditions every 30 s: sources and source_stats are requested "
                "(in one run) once the day runs that updated their inputs have all finished, then the "
                "warehouse; sources also daily at 04:00 UTC.",
)
