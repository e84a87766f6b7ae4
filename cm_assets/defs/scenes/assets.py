"""The ``scene_crops`` asset: windowed crops of each plume's parent L2B scene."""

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timezone

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
)
from pydantic import Field
from shapely.geometry import box

from cm_assets.carbonmapper.client import l2b_candidates
from cm_assets.carbonmapper.errors import SceneNotPublished, describe, is_run_wide
from cm_assets.carbonmapper.geo import reproject_geometry
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.carbonmapper.once import OncePerKey
from cm_assets.carbonmapper.scenes import SceneRaster
from cm_assets.carbonmapper.transport import POOL_SIZE
from cm_assets.defs import checks, figures
from cm_assets.defs.day_tables import all_days, build_days, read_previous, remove_plume_temporaries
from cm_assets.defs.engine import DayPlan
from cm_assets.defs.give_up import unpublished_scene_status
from cm_assets.defs.metadata import PicturePreviews, table_metadata
from cm_assets.defs.partitions import day_asset
from cm_assets.defs.resources import CarbonMapperResource, FreshnessResource, StorageResource
from cm_assets.defs.scenes.stats import crop_stats
from cm_assets.reports import plots
from cm_assets.storage import layout
from cm_assets.storage.store import Storage, write_cog
from cm_assets.sql.schema import conform

BANDS = {"cmf": "cmf", "uncertainty": "uncertainty", "rgb": "rgb", "artifact-mask": "artifact_mask"}
CROP_CHECKS = ["crop_nodata_fraction", "artifact_overlap"]
PREVIEW = ["plume_id", "scene_name", "status", "crop_height", "crop_width", "resolution_m",
           "artifact_fraction", "snr_max"]


class CropConfig(Config):
    pad_px: int = Field(
        default=64, description="Pixels of context added around the plume outline on each side.")
    workers: int = Field(default=8, description="Scenes resolved and cropped concurrently, across all days "
                                                "of the run.")
    band_workers: int = Field(default=POOL_SIZE, description="Band reads and L2B look-ups in flight at once, "
                                                             "across the run's crops (a crop's four bands are "
                                                             "read together, a scene's candidate collections "
                                                             "looked up in waves).")
    plots: bool = Field(default=True, description="Render the L3A-thumbnail vs L2B-crop comparison PNG.")
    figure_workers: int | None = Field(default=figures.FIGURE_WORKERS, description=figures.WORKERS_HELP)


def scene_key(client, record: PlumeRecord) -> tuple[str, ...]:
    """Plumes with equal keys have the same L2B parent: same scene, same collections to probe."""
    return (record.scene_name, *(str(c) for c in l2b_candidates(record, client.asset_urls)))


def resolve_scene(client, record: PlumeRecord, lookups: Executor) -> SceneRaster | Exception:
    """The plume's L2B parent (candidate collections looked up in waves on ``lookups``), or the
    error that resolving it raised (shared by a scene's plumes); run-wide errors propagate."""
    try:
        return client.scene_for_plume(record, lookups)
    except Exception as error:
        if is_run_wide(error):
            raise
        return error


class SharedResolution:
    """Each scene resolved once for all of its plumes, whichever of their tasks asks first; the
    others wait for that answer (plumes of one scene are cropped in parallel)."""

    def __init__(self, resolve: Callable[[PlumeRecord], SceneRaster | Exception]) -> None:
        self._resolve = resolve
        self._answers: OncePerKey[SceneRaster | Exception] = OncePerKey()

    def get(self, key: tuple[str, ...], record: PlumeRecord) -> SceneRaster | Exception:
        return self._answers.get(key, lambda: self._resolve(record))


def crop_row(record: PlumeRecord, outline, l3a_path, store: Storage, day: str,
             config: CropConfig, scene: SceneRaster | Exception, api_now: datetime,
             give_up_days: int, reads: Executor) -> dict:
    """Crop the plume's resolved L2B parent ``scene`` around ``outline``, its bands read together on
    ``reads``; an unpublished scene is 'deferred' (or 'gave_up' once ``give_up_days`` old, judged by
    the API's clock ``api_now``), another resolution error is raised."""
    row = {"plume_id": record.plume_id, "observation_day": day, "scene_name": record.scene_name,
           "checked_at": datetime.now(timezone.utc), "pad_px": config.pad_px}
    if isinstance(scene, SceneNotPublished):
        return {**row, "status": unpublished_scene_status(day, api_now, give_up_days), "reason": str(scene)}
    if isinstance(scene, Exception):
        raise scene
    crops = scene.crops(BANDS, outline, reads, pad_px=config.pad_px)
    for band, column in BANDS.items():
        if crops[band] is not None:
            row[f"{column}_path"] = write_cog(store, crops[band], layout.crop_file(record.plume_id, band))
    if crops["cmf"] is None:
        return {**row, "status": "deferred", "collection": scene.collection, "reason": "cmf not available"}
    footprint = reproject_geometry(box(*crops["cmf"].bounds), crops["cmf"].crs, "EPSG:4326")
    row.update(status="ok", collection=scene.collection, geometry=footprint)
    row.update(crop_stats(crops["cmf"], crops["uncertainty"], crops["artifact-mask"], outline))
    if config.plots:
        row["comparison_png"] = figures.render(
            layout.comparison_png(record.plume_id), plots.l3a_file_vs_l2b, record.plume_id, l3a_path,
            crops["cmf"], crops["rgb"], crops["uncertainty"], outline, config.pad_px,
            workers=config.figure_workers)
    return row


def _outlines(store: Storage, day: str, log) -> pd.DataFrame:
    """Outline per plume (products outline, else the catalog's plume bounds) and the L3A path."""
    catalog = store.read_parquet(layout.catalog_day(day))
    fallback = {pid: box(west, south, east, north) if pd.notna(west) else point.buffer(0.005)
                for pid, west, south, east, north, point in zip(
                    catalog["plume_id"], catalog["bounds_west"], catalog["bounds_south"],
                    catalog["bounds_east"], catalog["bounds_north"], catalog.geometry)}
    frame = pd.DataFrame({"outline": pd.Series(fallback, dtype=object), "l3a_path": None})
    products = read_previous(store, layout.products_day(day), log)
    if products is not None:
        # iterate the geometry column itself: a missing outline is None there (a row of a day whose
        # outlines are all missing would turn it into NaN)
        for pid, outline, l3a_path in zip(products["plume_id"], products.geometry,
                                          products["concentrations_path"]):
            if pid in frame.index:
                if outline is not None and not outline.is_empty:
                    frame.at[pid, "outline"] = outline
                frame.at[pid, "l3a_path"] = l3a_path
    return frame


def plan_crops(client, records: list[PlumeRecord], store: Storage, day: str, config: CropConfig,
               give_up_days: int, reads: Executor, log, previews: PicturePreviews | None = None) -> DayPlan:
    """The crops table of one day; finished crops of an earlier run are kept, deferred ones retried;
    the day's comparison thumbnail started on ``previews``.

    One task per plume on the run's shared pool, its bands read on ``reads``; each L2B parent is
    resolved once for all of its plumes (:class:`SharedResolution`, its candidate collections
    looked up on ``reads`` too); the rows keep the order of ``records``."""
    remove_plume_temporaries(store, records, layout.crop_dirs, log)
    outlines = _outlines(store, day, log) if records else pd.DataFrame()
    api_now = client.api_now() if records else None
    old = read_previous(store, layout.crops_day(day), log)
    previous = {} if old is None else {r["plume_id"]: r for r in old.to_dict("records")
                                       if r["status"] == "ok" and r["pad_px"] == config.pad_px}

    def one(record: PlumeRecord, scene: SceneRaster | Exception) -> dict:
        try:
            target = outlines.loc[record.plume_id]
            return crop_row(record, target.outline, target.l3a_path, store, day, config, scene, api_now,
                            give_up_days, reads)
        except Exception as error:  # one plume's fetch/write/read failure never stops the day
            if is_run_wide(error):
                raise
            log.warning(f"{record.plume_id}: crop failed: {describe(error)}")
            return {"plume_id": record.plume_id, "observation_day": day, "scene_name": record.scene_name,
                    "status": "error", "reason": describe(error), "checked_at": datetime.now(timezone.utc)}

    scenes = SharedResolution(lambda record: resolve_scene(client, record, reads))
    tasks = []
    for record in records:
        if record.plume_id not in previous:
            try:
                key = scene_key(client, record)
            except Exception as error:  # an underivable scene: the plume is handled alone (error row)
                if is_run_wide(error):
                    raise
                key = ("plume", record.plume_id)
            tasks.append(lambda record=record, key=key: [one(record, scenes.get(key, record))])
    if config.plots and tasks:
        figures.start_workers(config.figure_workers)  # a plume to draw: their start-up overlaps the fetching

    def assemble(rows: list[dict]) -> pd.DataFrame:
        done = {row["plume_id"]: row for row in figures.write_figures(rows, store, log)}
        ordered = [previous.get(record.plume_id) or done[record.plume_id] for record in records]
        table = conform(pd.DataFrame(ordered), "scene_crops")
        if previews is not None:
            previews.add(day, table)
        return table

    return DayPlan(day, tasks, assemble)


def crops_metadata(table: pd.DataFrame, store: Storage, day: str, previews: PicturePreviews | None = None) -> dict:
    """Metadata of one day's materialization: its rows by status, file and strongest comparison."""
    status = table["status"].value_counts().to_dict()
    metadata = table_metadata(table, "scene_crops", PREVIEW)
    metadata.update({"status": MetadataValue.json({str(k): int(v) for k, v in status.items()}),
                     "deferred": int(status.get("deferred", 0)),
                     "path": MetadataValue.path(store.uri(layout.crops_day(day)))})
    if previews is not None:
        metadata.update(previews.metadata(day))
    return metadata


@day_asset(
    deps=["plume_catalog", "plume_products"],
    group_name="scenes",
    kinds={"geoparquet", "cog"},
    check_specs=checks.check_specs("scene_crops", CROP_CHECKS),
)
def scene_crops(context: AssetExecutionContext, config: CropConfig, carbonmapper: CarbonMapperResource,
                storage: StorageResource, freshness: FreshnessResource) -> MaterializeResult:
    """Each plume's parent L2B scene (STAC item or derived URLs), cropped around the plume outline
    with pad_px of context by windowed COG reads: cmf, uncertainty, rgb and artifact-mask under
    crops/{plume_id}/{band}.tif, with crop shape, native resolution, artifact-mask fraction inside
    the outline and cmf/uncertainty inside the outline. A scene not yet published is recorded as
    'deferred' and retried by the next run of the day (after the freshness resource's give_up_days:
    'gave_up').
    Table: crops/day=YYYY-MM-DD.parquet."""
    store = storage.storage_for(carbonmapper)
    give_up_days = freshness.give_up_days
    # the strongest comparison: highest signal over uncertainty
    previews = PicturePreviews("comparison_png", "L3A vs L2B", context.log, rank_column="snr_max",
                               workers=config.figure_workers) if store.is_local else None
    with ThreadPoolExecutor(max_workers=max(1, config.band_workers), thread_name_prefix="band") as reads:
        tables = build_days(context.partition_keys, carbonmapper, store, layout.crops_day, "scene_crops",
                            lambda client, records, day: plan_crops(client, records, store, day, config,
                                                                    give_up_days, reads, context.log, previews),
                            config.workers)
    for day, table in tables.items():
        context.add_asset_metadata(crops_metadata(table, store, day, previews), partition_key=day)
    frame = all_days(tables, "scene_crops")
    return MaterializeResult(metadata={"days": len(tables)}, check_results=[
        checks.check_nodata(frame, "cmf_nodata_fraction", "crop_nodata_fraction"),
        checks.check_artifact_overlap(frame)])
