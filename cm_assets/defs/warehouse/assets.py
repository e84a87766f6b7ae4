"""The ``warehouse`` asset: the only writer of the DuckDB file."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from cm_assets.defs.resources import StorageResource
from cm_assets.warehouse.db import connect_retrying
from cm_assets.warehouse.views import refresh_views

WAREHOUSE_POOL = "warehouse"


def build_warehouse(storage: StorageResource, log=None) -> dict[str, int]:
    """Create or replace every view; returns the row count per view."""
    path = Path(storage.duckdb_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect_retrying(path, log=log)
    try:
        return refresh_views(con, storage.storage())
    finally:
        con.close()


@asset(
    deps=["plume_catalog", "plume_products", "scene_crops", "sources", "source_stats"],
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def warehouse(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
    """DuckDB database (spatial loaded) with views over all the GeoParquet: plumes, plume_products,
    scene_crops, deferred_scenes, sources, plume_sources, source_stats, quarantine, plume_history
    and plumes_enriched (catalog + products + crops + source). The only DuckDB writer (pool
    'warehouse', limit 1); views over files that do not exist yet are empty and typed."""
    counts = build_warehouse(storage, context.log.info)
    table = "| view | rows |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return MaterializeResult(metadata={
        "path": MetadataValue.path(storage.duckdb_path()),
        "views": MetadataValue.md(table),
        "dagster/row_count": counts["plumes"],
        **{f"rows_{name}": count for name, count in counts.items()},
    })
