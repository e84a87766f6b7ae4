"""The ``warehouse`` asset: the only writer of the DuckDB file."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from cm_assets.defs.automation import after_upstream_settles
from cm_assets.defs.resources import StorageResource
from cm_assets.sql.lake import Lake, is_lake
from cm_assets.sql.lake_refresh import refresh_lake
from cm_assets.sql.refresh import refresh_warehouse

WAREHOUSE_POOL = "warehouse"


@asset(
    deps=["plume_catalog", "plume_products", "scene_crops", "sources", "source_stats"],
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    automation_condition=after_upstream_settles(),
)
def warehouse(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
    """DuckDB database: native tables kept in step with the GeoParquet files (only files that
    changed since the last refresh are read) — plumes, plume_products, scene_crops, sources,
    plume_sources, source_stats, quarantine, plume_history — the derived table plumes_enriched
    (re-joined for the changed days only) and the view deferred_scenes. The only DuckDB writer
    (pool 'warehouse', limit 1): it updates a private copy and swaps it in atomically, so readers
    are never blocked. With a ``ducklake:`` warehouse setting: the shared DuckLake instead, refreshed
    in one DuckLake transaction. Requested by the automation sensor once the runs that updated its
    inputs have finished (cm_assets.defs.automation)."""
    target = storage.duckdb_path()
    if is_lake(target):
        done = refresh_lake(Lake.parse(target, storage.warehouse_data_path), storage.storage(), context.log.info)
    else:
        done = refresh_warehouse(target, storage.storage(), context.log.info)
    table = "| view | rows |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in done.counts.items())
    changed = {t: {"files_ingested": c.ingested, "files_dropped": c.dropped}
               for t, c in done.changes.items() if c.ingested or c.dropped}
    return MaterializeResult(metadata={
        "path": MetadataValue.text(target) if is_lake(target) else MetadataValue.path(target),
        "views": MetadataValue.md(table),
        "changed_files": MetadataValue.json(changed),
        "rebuilt": done.rebuilt,
        "refresh_seconds": round(done.seconds, 3),
        "dagster/row_count": done.counts["plumes"],
        **{f"rows_{name}": count for name, count in done.counts.items()},
    })
