"""``cm-assets demo``: replica → whole asset graph for the last N days in one run → DuckDB summary."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import requests
from dagster import DagsterInstance

from cm_assets.defs.partitions import range_tags
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.replica.process import ReplicaProcess
from cm_assets.sql.query import format_table, run_query

SUMMARY_QUERIES = {
    "Plumes per instrument": """
        SELECT instrument, instrument_name, gas, count(*) AS plumes,
               round(median(emission_auto), 1) AS median_kg_h
        FROM plumes GROUP BY ALL ORDER BY plumes DESC""",
    "Top sources by site emission (per gas)": """
        SELECT gas, source_name, detections, distinct_days, round(site_emission, 1) AS site_kg_h,
               round(cm_persistence, 2) AS cm_persistence,
               round(persistence_recomputed, 2) AS persistence_recomputed
        FROM source_stats
        QUALIFY row_number() OVER (PARTITION BY gas ORDER BY site_emission DESC NULLS LAST) <= 5
        ORDER BY gas, site_emission DESC NULLS LAST""",
    "Deferred scenes": "SELECT plume_id, scene_name, observation_day FROM deferred_scenes ORDER BY 1 LIMIT 20",
    "Quarantined records": "SELECT partition, plume_id, reason FROM quarantine ORDER BY 1, 2 LIMIT 20",
    "Products and crops": """
        SELECT (SELECT count(*) FROM plume_products WHERE error IS NULL) AS plumes_with_products,
               (SELECT count(*) FROM plume_products WHERE n_missing > 0) AS with_missing_assets,
               (SELECT count(*) FROM scene_crops WHERE status = 'ok') AS crops_ok,
               (SELECT count(*) FROM scene_crops WHERE status = 'deferred') AS crops_deferred,
               (SELECT count(*) FROM plume_products
                 WHERE abs(emission_ratio - 1) > 0.05) AS ime_disagreements""",
}


def day_range(last_day: date, days: int) -> tuple[str, str]:
    return (last_day - timedelta(days=days - 1)).isoformat(), last_day.isoformat()


def replica_today(admin_url: str) -> date:
    """The replica clock's current UTC day."""
    now = requests.get(f"{admin_url}/clock", timeout=10).json()["now"]
    return date.fromisoformat(now[:10])


QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

DEMO_EMAIL_ENV = "CM_ASSETS_DEMO_EMAIL"
DEMO_PASSWORD_ENV = "CM_ASSETS_DEMO_PASSWORD"
DEMO_TOKEN_ENV = "CM_ASSETS_DEMO_TOKEN"


def demo_resources(replica: ReplicaProcess, data_root: Path) -> tuple[CarbonMapperResource, StorageResource]:
    """The client bound to ``replica``'s demo account and the storage under ``data_root``.

    The resource takes credentials only as names of environment variables (a value would be stored in
    the run's config in the instance and shown in the UI), so the account goes into this process's
    environment under the demo's own variable names, leaving the user's ``CARBONMAPPER_*`` untouched;
    the token variable is one nothing sets, so a user's token never reaches the replica. The warehouse
    file follows ``CM_ASSETS_WAREHOUSE`` when set, as for every other run.
    """
    os.environ[DEMO_EMAIL_ENV] = replica.email
    os.environ[DEMO_PASSWORD_ENV] = replica.password
    os.environ.pop(DEMO_TOKEN_ENV, None)
    carbonmapper = CarbonMapperResource(api_url=replica.api_url, token_env=DEMO_TOKEN_ENV,
                                        email_env=DEMO_EMAIL_ENV, password_env=DEMO_PASSWORD_ENV)
    return carbonmapper, StorageResource.from_environment(root=str(data_root))


def materialize_days(first: str, last: str, carbonmapper: CarbonMapperResource, storage: StorageResource,
                     instance: DagsterInstance | None = None):
    """Materialize every asset for days ``first``..``last`` as one run (single-run backfill).

    The console shows warnings only; every event is kept in the instance (the UI's run view).
    """
    from cm_assets.definitions import build_definitions

    job = build_definitions(carbonmapper, storage).resolve_job_def("refresh_all")
    return job.execute_in_process(run_config=QUIET_CONSOLE, tags=range_tags(first, last),
                                  instance=instance or DagsterInstance.ephemeral())


def print_summary(database: str) -> None:
    for title, query in SUMMARY_QUERIES.items():
        columns, rows = run_query(database, query)
        print(f"\n== {title} ==")
        print(format_table(columns, rows))


def run(days: int = 30, scale: str = "demo", data_root: str = "data", seed: int = 7,
        until_days_ago: int = 60) -> int:
    """Run the demo over ``days`` days ending ``until_days_ago`` days before the replica's today.

    The default window ends 60 days back because L2B scenes publish days to months after their
    plumes (as upstream): in a window ending 30 days back most crops are still ``deferred``.
    """
    from cm_assets.dev import dagster_home

    root = Path(data_root)
    replica = ReplicaProcess(root / "replica", seed=seed, scale=scale)
    try:
        replica.start()
        carbonmapper, storage = demo_resources(replica, root)
        last_day = replica_today(replica.admin_url) - timedelta(days=until_days_ago)
        first, last = day_range(last_day, days)
        print(f"replica ({scale}) at {replica.api_url}; materializing {first} .. {last} in one run")
        instance = DagsterInstance.from_config(str(dagster_home(Path.cwd())))
        result = materialize_days(first, last, carbonmapper, storage, instance)
        print(f"run {result.run_id}: {'success' if result.success else 'FAILED'}")
        print_summary(storage.process_config_and_initialize().duckdb_path())
        return 0 if result.success else 1
    finally:
        replica.stop()
