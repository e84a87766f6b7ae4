"""The daily sweep of the recent observation days (sources and the warehouse follow by automation,
``cm_assets.defs.automation``, which also re-lists sources daily)."""

from __future__ import annotations

from datetime import timedelta

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from cm_assets.defs.api_watch.runs import REFRESH_JOB, TRIGGER_TAG, day_run_config
from cm_assets.defs.partitions import observation_days, range_tags
from cm_assets.defs.resources import FreshnessResource


def lag_window(context: ScheduleEvaluationContext, lag_days: int) -> tuple[str, str]:
    """First and last partition of the window ending on the scheduled day, ``lag_days`` days back."""
    end = context.scheduled_execution_time
    last = observation_days.get_partition_key_for_timestamp(end.timestamp())
    first = observation_days.get_partition_key_for_timestamp((end - timedelta(days=lag_days)).timestamp())
    return first, last


@schedule(
    name="daily_catalog_schedule",
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    job_name=REFRESH_JOB,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Daily at 02:00 UTC: one run over today and the publication-lag window before it "
                "(the freshness resource's lag_days, default 30), a safety net behind the sensors.",
)
def daily_catalog_schedule(context: ScheduleEvaluationContext, freshness: FreshnessResource) -> RunRequest:
    first, last = lag_window(context, freshness.lag_days)
    return RunRequest(
        run_key=f"daily:{last}",
        run_config=day_run_config(),
        tags={**range_tags(first, last), TRIGGER_TAG: "daily_catalog"},
    )

