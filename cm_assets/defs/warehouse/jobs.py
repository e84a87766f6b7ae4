"""Jobs: ``refresh_days`` (day chain + warehouse in one run: what sensors and schedules request),
``refresh_warehouse`` (sources + warehouse) and ``refresh_all`` (everything, for a range of days in one run)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job


DAY_ASSETS = ["plume_catalog", "plume_products", "scene_crops"]

refresh_days = define_asset_job(
    "refresh_days",
    selection=AssetSelection.assets(*DAY_ASSETS, "warehouse"),
    description="Materialize the day partitions (catalog, products, crops) and refresh the warehouse "
                "tables in the same run, so new plumes are queryable when it ends; what the sensors and "
                "the daily schedule request (sources and source statistics follow by automation). "
                "Request one run per day, or one run for a range of days (single-run backfill).",
)

refresh_warehouse = define_asset_job(
    "refresh_warehouse",
    selection=AssetSelection.assets("sources", "source_stats", "warehouse"),
    description="Refresh the sources around every materialized plume, their statistics and the warehouse.",
)

refresh_all = define_asset_job(
    "refresh_all",
    selection=AssetSelection.assets(*DAY_ASSETS, "sources", "source_stats", "warehouse"),
    description="The whole graph for one day or a range of days in one run: the day chain, then "
                "sources, source statistics and the warehouse (used by `cm-assets demo`).",
)
