"""DuckDB views over the GeoParquet tables under the data root (the only write to the database)."""

from __future__ import annotations

from cm_assets.defs.storage import Storage
from cm_assets.warehouse.schema import TABLES

# view name -> (table schema, glob under the data root)
PARQUET_VIEWS: dict[str, tuple[str, str]] = {
    "plumes": ("plumes", "catalog/day=*.parquet"),
    "quarantine": ("quarantine", "quarantine/day=*.parquet"),
    "plume_products": ("plume_products", "products/day=*.parquet"),
    "scene_crops": ("scene_crops", "crops/day=*.parquet"),
    "sources": ("sources", "sources/sources.parquet"),
    "plume_sources": ("plume_sources", "sources/plume_sources.parquet"),
    "source_stats": ("source_stats", "sources/source_stats.parquet"),
    "plume_history": ("plume_history", "history/plume_versions.parquet"),
}

DERIVED_VIEWS: dict[str, str] = {
    "deferred_scenes": """
        SELECT plume_id, observation_day, scene_name, reason, checked_at
        FROM scene_crops WHERE status = 'deferred'""",
    "plumes_enriched": """
        SELECT p.*,
               pp.mask_pixels, pp.max_enhancement, pp.outline_area_m2, pp.emission_recomputed,
               pp.emission_ratio, pp.missing_assets, pp.geometry AS outline,
               sc.status AS crop_status, sc.crop_height, sc.crop_width, sc.resolution_m,
               sc.artifact_fraction, sc.snr_max, sc.snr_mean,
               ps.source_name, ss.site_emission, ss.cm_persistence, ss.persistence_recomputed,
               ss.detections AS source_detections
        FROM plumes p
        LEFT JOIN plume_products pp USING (plume_id)
        LEFT JOIN scene_crops sc USING (plume_id)
        LEFT JOIN plume_sources ps USING (plume_id)
        LEFT JOIN source_stats ss USING (source_name)""",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_select(table: str) -> str:
    columns = ", ".join(f"NULL::{kind} AS {name}" for name, kind in TABLES[table].items())
    return f"SELECT {columns} WHERE false"


def view_sql(storage: Storage, name: str) -> str:
    """``CREATE OR REPLACE VIEW`` for one Parquet-backed view; an empty typed view when no file exists."""
    table, pattern = PARQUET_VIEWS[name]
    if storage.glob(pattern):
        columns = ", ".join(TABLES[table])
        body = f"SELECT {columns} FROM read_parquet({_quote(storage.uri(pattern))}, union_by_name = true)"
    else:
        body = _empty_select(table)
    return f"CREATE OR REPLACE VIEW {name} AS {body}"


def refresh_views(con, storage: Storage) -> dict[str, int]:
    """(Re)create every view in one transaction; returns the row count of each view."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name in PARQUET_VIEWS:
            con.execute(view_sql(storage, name))
        for name, body in DERIVED_VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    names = [*PARQUET_VIEWS, *DERIVED_VIEWS]
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names}
