"""How runs execute their steps, chosen by the environment.

Default: Dagster's own executor (steps in the run's process or in subprocesses of it).
``CM_ASSETS_EXECUTOR=celery``: ``dagster-celery``'s executor; each step goes to the Celery broker
``CM_ASSETS_CELERY_BROKER`` (e.g. ``redis://host:6379/0``) and runs on whichever worker takes it;
results come back through ``CM_ASSETS_CELERY_BACKEND`` (defaults to the broker URL).
"""

from __future__ import annotations

import os

from dagster import ExecutorDefinition

EXECUTOR_ENV = "CM_ASSETS_EXECUTOR"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
#: The tag saying what requested a run (a sensor, the schedule, the automation sensor).
TRIGGER_TAG = "cm_assets/trigger"


def celery_selected() -> bool:
    return os.environ.get(EXECUTOR_ENV, "").strip().lower() == "celery"


def executor_from_environment() -> ExecutorDefinition | None:
    """The Celery executor when selected, else None (Dagster's default executor)."""
    if not celery_selected():
        return None
    from dagster_celery import celery_executor

    broker = {"env": "CM_ASSETS_CELERY_BROKER"}
    backend = {"env": "CM_ASSETS_CELERY_BACKEND"} if os.environ.get("CM_ASSETS_CELERY_BACKEND") \
        else broker
    return celery_executor.configured({"broker": broker, "backend": backend})


def day_run_config() -> dict:
    """Run config of the sensors' and schedules' day runs: a day's chain is sequential and small,
    so it runs in the run's own process, except under Celery, where the workers run the steps."""
    return {} if celery_selected() else IN_PROCESS
