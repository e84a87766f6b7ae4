"""The two derived relations over the ingested tables (which users query under their own names):
the view ``deferred_scenes`` and the table ``plumes_enriched``, which the writer keeps up to date
incrementally (a view of four joins cost every reader the joins: ~3x the 100 ms query budget
at 100k plumes)."""

from __future__ import annotations

from cm_assets.sql.ingest import TABLE_FILES, TableChange

DERIVED_VIEWS: dict[str, str] = {
    "deferred_scenes": """
        SELECT plume_id, observation_day, scene_name, reason, checked_at
        FROM scene_crops WHERE status = 'deferred'""",
}

ENRICHED = "plumes_enriched"
_ENRICHED = """
        SELECT p.*,
               pp.mask_pixels, pp.max_enhancement, pp.outline_area_m2, pp.emission_recomputed,
               pp.emission_ratio, pp.missing_assets, pp.geometry AS outline,
               sc.status AS crop_status, sc.crop_height, sc.crop_width, sc.resolution_m,
               sc.artifact_fraction, sc.snr_max, sc.snr_mean,
               ps.source_name, ss.site_emission, ss.cm_persistence, ss.persistence_recomputed,
               ss.detections AS source_detections
        FROM plumes p
        LEFT JOIN {plume_products} pp USING (plume_id)
        LEFT JOIN {scene_crops} sc USING (plume_id)
        LEFT JOIN {plume_sources} ps USING (plume_id)
        LEFT JOIN source_stats ss USING (source_name)"""
_PER_PLUME = ("plume_products", "scene_crops", "plume_sources")
ENRICHED_SELECT = _ENRICHED.format(**{t: t for t in _PER_PLUME})
# the same for the plumes of the days ``$days`` only: the per-plume tables are cut down to those
# plumes first (a semi-join), so the joins do not hash every row of plume_sources for one day
_OF_DAYS = ("(SELECT * FROM {} WHERE plume_id IN "
            "(SELECT plume_id FROM plumes WHERE list_contains($days, observation_day)))")
ENRICHED_FOR_DAYS = (_ENRICHED.format(**{t: _OF_DAYS.format(t) for t in _PER_PLUME})
                     + " WHERE list_contains($days, p.observation_day)")

# a plume's products and crop are filed under its own observation day: a change of these tables'
# day D changes the enriched rows of day D only; the single-file tables can change any row
ENRICHED_BY_DAY = ("plumes", "plume_products", "scene_crops")
ENRICHED_WHOLE = ("plume_sources", "source_stats")

# every name users query: the ingested tables and the derived relations
RELATIONS: tuple[str, ...] = (*TABLE_FILES, *DERIVED_VIEWS, ENRICHED)


def create_views(con) -> None:
    """(Re)create the derived views (inside the caller's transaction)."""
    for name, body in DERIVED_VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")


def update_enriched(con, changes: dict[str, TableChange], rebuilt: bool) -> None:
    """Bring ``plumes_enriched`` in step with the tables after a sync that made ``changes``
    (inside the caller's transaction): built whole on a rebuild or when a single-file table
    changed, otherwise only the rows of the days that changed are replaced."""
    if rebuilt:
        con.execute(f"CREATE TABLE {ENRICHED} AS {ENRICHED_SELECT}")
        return
    if any(changes[t].ingested or changes[t].dropped for t in ENRICHED_WHOLE):
        con.execute(f"DELETE FROM {ENRICHED}")
        con.execute(f"INSERT INTO {ENRICHED} {ENRICHED_SELECT}")
        return
    days = sorted(set().union(*(changes[t].days for t in ENRICHED_BY_DAY)))
    if days:
        con.execute(f"DELETE FROM {ENRICHED} WHERE list_contains(?, observation_day)", [days])
        con.execute(f"INSERT INTO {ENRICHED} {ENRICHED_FOR_DAYS}", {"days": days})


def row_counts(con) -> dict[str, int]:
    """Rows of every table and view users query."""
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in RELATIONS}
