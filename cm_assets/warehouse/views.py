"""The two derived views over the ingested tables (which users query under their own names)."""

from __future__ import annotations

from cm_assets.warehouse.ingest import TABLE_FILES

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

# every name users query: the ingested tables and the derived views
RELATIONS: tuple[str, ...] = (*TABLE_FILES, *DERIVED_VIEWS)


def create_views(con) -> None:
    """(Re)create the derived views (inside the caller's transaction)."""
    for name, body in DERIVED_VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")


def row_counts(con) -> dict[str, int]:
    """Rows of every table and view users query."""
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in RELATIONS}
