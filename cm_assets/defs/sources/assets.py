"""The ``sources`` and ``source_stats`` assets (not partitioned: they span every materialized day)."""

import json
from concurrent.futures import Executor, ThreadPoolExecutor

import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field
from shapely.geometry import Point

from cm_assets.carbonmapper.errors import SourceNotFound, describe, is_run_wide
from cm_assets.carbonmapper.transport import POOL_SIZE
from cm_assets.defs import figures
from cm_assets.defs.automation import after_upstream_settles, after_upstream_settles_or_daily
from cm_assets.defs.metadata import PicturePreviews, table_metadata
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.defs.sources.build import attribution, regional_bboxes
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets.reports import plots
from cm_assets.reports.source_profile import detections, source_profile
from cm_assets.sql.schema import conform

def materialized_plumes(store: Storage) -> pd.DataFrame:
    """plume_id, lon, lat of every catalog partition on disk."""
    return store.read_columns(layout.day_table_glob("plumes"), ["plume_id", "lon", "lat"])


def _summary_row(summary) -> dict:
    point = summary.point
    parts = summary.source_name.split("_")
    eps = parts[2][:-1] if len(parts) > 2 and parts[2].endswith("m") else None
    return {"source_name": summary.source_name, "gas": summary.gas, "sector": summary.sector,
            "eps_m": eps, "lon": point.x if point else None, "lat": point.y if point else None,
            "plume_count": summary.plume_count, "persistence": summary.persistence,
            "emission_auto": summary.emission_auto,
            "emission_uncertainty_auto": summary.emission_uncertainty_auto,
            "plume_ids": list(summary.plume_ids), "geometry": Point(point.x, point.y) if point else None}


class SourcesConfig(Config):
    region_deg: float = Field(
        default=5.0, description="Grid cell (degrees) grouping plumes into regional source queries.")
    workers: int = Field(default=POOL_SIZE, description="Regional source queries in flight at once.")


@asset(deps=["plume_catalog"], group_name="sources", kinds={"geoparquet"},
       automation_condition=after_upstream_settles_or_daily())
def sources(context: AssetExecutionContext, config: SourcesConfig, carbonmapper: CarbonMapperResource,
            storage: StorageResource) -> MaterializeResult:
    """Carbon Mapper sources around every materialized plume (one source listing per regional box
    of plumes, never a globe-spanning box; the boxes are listed concurrently) and the plume → source
    attribution table. Files: sources/sources.parquet, sources/plume_sources.parquet."""
    store = storage.storage_for(carbonmapper)
    plumes = materialized_plumes(store)
    boxes = regional_bboxes(plumes["lon"], plumes["lat"], config.region_deg)
    found: dict[str, dict] = {}
    with carbonmapper.get_client() as client, ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        for listing in pool.map(lambda bbox: client.list_sources(bbox=bbox), boxes):  # boxes' order kept
            for summary in listing:
                found[summary.source_name] = _summary_row(summary)
    listing = pd.DataFrame(list(found.values()))
    links = attribution(listing, plumes) if len(listing) else pd.DataFrame(columns=["plume_id", "source_name"])
    table = conform(listing, "sources").sort_values("source_name").reset_index(drop=True)
    store.write_parquet(table, layout.SOURCES)
    store.write_parquet(conform(links, "plume_sources"), layout.PLUME_SOURCES)
    metadata = table_metadata(table, "sources", ["source_name", "sector", "plume_count", "persistence",
                                                 "emission_auto"])
    metadata.update({"regional_queries": len(boxes), "plumes": len(plumes), "attributed_plumes": len(links),
                     "path": MetadataValue.path(store.uri(layout.SOURCES))})
    return MaterializeResult(metadata=metadata)


def _footprints(client, store: Storage, pool: Executor) -> pd.DataFrame:
    """Scene footprints (name, W, S, E, N) over the regional boxes of the attributed sources, their
    pages fetched together on ``pool`` (:meth:`~.CarbonMapperClient.scene_footprints_by_box`)."""
    table = store.read_parquet(layout.SOURCES)
    rows = {}
    for scenes in client.scene_footprints_by_box(regional_bboxes(table["lon"], table["lat"]), pool):
        for scene in scenes:
            if scene.bounds:
                rows[scene.name] = dict(zip(["west", "south", "east", "north"], scene.bounds), name=scene.name)
    return pd.DataFrame(list(rows.values()), columns=["name", "west", "south", "east", "north"])


def _drawn_timelines(store: Storage, log) -> dict[str, str]:
    """source name -> key of the data its stored timeline was drawn from, as the last complete run
    recorded them, for the timelines still stored (one listing of the directory)."""
    if not store.exists(layout.TIMELINE_KEYS):
        return {}
    try:
        keys = json.loads(store.read_bytes(layout.TIMELINE_KEYS))
    except Exception as error:  # an unreadable record only costs drawing every timeline again
        log.warning(f"{layout.TIMELINE_KEYS}: unreadable, drawing every timeline again: {describe(error)}")
        return {}
    stored = set(store.glob(layout.source_timeline_png("*")))
    return {name: key for name, key in keys.items() if layout.source_timeline_png(name) in stored}


class SourceStatsConfig(Config):
    workers: int = Field(default=POOL_SIZE, description="Source details and footprint pages in flight at once "
                                                       "(one pool for both).")
    plots: bool = Field(default=True, description="Render an emission timeline PNG per source.")
    figure_workers: int | None = Field(default=figures.FIGURE_WORKERS, description=figures.WORKERS_HELP)


@asset(deps=["sources"], group_name="sources", kinds={"geoparquet"},
       automation_condition=after_upstream_settles())
def source_stats(context: AssetExecutionContext, config: SourceStatsConfig, carbonmapper: CarbonMapperResource,
                 storage: StorageResource) -> MaterializeResult:
    """Per source with a materialized plume: detections (and how many carry an emission), distinct
    days, first/last detection, emission mean/std/min/median/p90/p99/max, sensor mix, Carbon Mapper's persistence and site emission, and
    persistence recomputed from scene coverage (detection scenes / overpasses whose footprint
    covers the source point). File: sources/source_stats.parquet; timelines: plots/sources/ (a source's
    timeline is drawn again only when its detections or site emission changed)."""
    store = storage.storage_for(carbonmapper)
    links = store.read_parquet(layout.PLUME_SOURCES) if store.exists(layout.PLUME_SOURCES) else None
    names = [] if links is None else sorted(set(links["source_name"]))
    failed: list[str] = []

    def failing(name: str, error: Exception) -> None:
        if is_run_wide(error):
            raise error
        context.log.warning(f"source {name}: statistics failed: {describe(error)}")
        failed.append(name)

    drawn = _drawn_timelines(store, context.log) if config.plots else {}
    if config.plots:
        store.remove(layout.TIMELINE_KEYS)  # until this run's timelines are written (a killed run redraws all)

    def detail_of(client, name: str):
        """The source's detail and its timeline (being drawn, or the stored one when its data has not
        changed) with the timeline's key, or None."""
        try:
            detail = client.get_source(name)
            if not config.plots:
                return detail, None, None
            frame = detections(detail)
            key = plots.timeline_key(name, frame, detail.emission_auto)
            rel = layout.source_timeline_png(name)
            timeline = store.uri(rel) if drawn.get(name) == key else figures.render(
                rel, plots.source_timeline, name, frame, detail.emission_auto, workers=config.figure_workers)
            return detail, timeline, key
        except SourceNotFound:
            context.log.warning(f"source {name} no longer exists (re-clustered)")
        except Exception as error:  # one source's bad detail never stops the others
            failing(name, error)
        return None

    rows = []
    with carbonmapper.get_client() as client, ThreadPoolExecutor(max_workers=1) as side, \
            ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        # the footprints (for the recomputed persistence) are paged while the details are fetched,
        # their requests and the details' on one pool
        paging = side.submit(_footprints, client, store, pool) if names else None
        details = [d for d in pool.map(lambda name: detail_of(client, name), names) if d is not None]
        footprints = paging.result() if paging is not None else pd.DataFrame()
    for detail, timeline, key in details:
        try:
            row = source_profile(detail, footprints)
        except Exception as error:  # one source's bad detail never stops the others
            failing(detail.source_name, error)
            continue
        if timeline is not None:
            row.update(timeline_png=timeline, timeline_key=key)
        rows.append(row)
    rows = figures.write_figures(rows, store, context.log, draw_queued=True)  # nothing else left to do
    table = conform(pd.DataFrame(rows), "source_stats")
    if len(table):
        table = table.sort_values("site_emission", ascending=False, na_position="last").reset_index(drop=True)
    store.write_parquet(table, layout.SOURCE_STATS)
    if config.plots:
        keys = {row["source_name"]: row["timeline_key"] for row in rows if row.get("timeline_png")}
        store.write_bytes(layout.TIMELINE_KEYS, json.dumps(keys, sort_keys=True).encode())
    metadata = table_metadata(table, "source_stats", ["source_name", "detections", "distinct_days",
                                                      "emission_mean", "emission_median", "emission_p99", "site_emission", "cm_persistence",
                                                      "persistence_recomputed"])
    metadata.update({"overpass_footprints": len(footprints), "failed_sources": len(failed),
                     "path": MetadataValue.path(store.uri(layout.SOURCE_STATS))})
    if store.is_local:
        previews = PicturePreviews("timeline_png", "Emission timeline", context.log, rank_column="site_emission",
                                   workers=config.figure_workers, label_column="source_name", name="timeline")
        previews.add(None, table)
        metadata.update(previews.metadata(None))
    return MaterializeResult(metadata=metadata)
