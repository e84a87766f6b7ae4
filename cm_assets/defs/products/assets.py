"""The ``plume_products`` asset: the seven per-plume products stored locally, with statistics."""

import json
from collections.abc import Callable, Sequence

import pandas as pd
import rasterio
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from cm_assets.carbonmapper.assets import geometry_from_geojson
from cm_assets.carbonmapper.client import CarbonMapperClient
from cm_assets.carbonmapper.errors import ProductNotAvailable, RecordError, describe, is_run_wide
from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.carbonmapper.products import PLUME_PRODUCTS, alpha_outline
from cm_assets.defs import checks, figures
from cm_assets.defs.catalog.assets import catalog_path, fetch_payloads_by_day
from cm_assets.defs.engine import DayPlan, run_days
from cm_assets.defs.metadata import embedded_png, table_metadata
from cm_assets.defs.partitions import observation_days
from cm_assets.defs.products import stats
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.defs.storage import Storage, save_with
from cm_assets.reports import plots
from cm_assets.warehouse.schema import conform

PRODUCT_FILES = {name: key for name, (_family, key) in PLUME_PRODUCTS.items()}
PRODUCT_CHECKS = ["valid_outlines", "raster_nodata_fraction", "ime_agreement"]
PREVIEW = ["plume_id", "mask_pixels", "max_enhancement", "outline_area_m2", "emission_auto",
           "emission_recomputed", "emission_ratio", "missing_assets"]


class ProductsConfig(Config):
    workers: int = Field(default=8, description="Plumes fetched concurrently, across all days of the run.")
    plots: bool = Field(default=True, description="Render each plume's four-panel quick-look PNG.")
    figure_workers: int = Field(default=figures.FIGURE_WORKERS,
                                description="Processes rendering the pictures (0: on the fetching threads).")


def products_path(day: str) -> str:
    return f"products/day={day}.parquet"


def quicklook_path(plume_id: str) -> str:
    return f"plots/plumes/{plume_id}/quicklook.png"


def _load_raster(path: str) -> GeoArray:
    with rasterio.open(path) as dataset:
        return GeoArray.read(dataset)


def _load_outline(path: str):
    with open(path, "rb") as fh:
        return geometry_from_geojson(json.load(fh))


def plume_row(client, record: PlumeRecord, store: Storage, day: str, with_plot: bool,
              figure_workers: int = figures.FIGURE_WORKERS) -> dict:
    """Store one plume's seven products unchanged and measure them; a missing asset is listed.
    The quick-look is a :class:`~cm_assets.defs.figures.PendingFigure` until the day is assembled."""
    products = client.plume_products(record)
    missing: list[str] = []
    row: dict = {"plume_id": record.plume_id, "observation_day": day,
                 "emission_version": record.emission_version, "emission_auto": record.emission_auto}
    loaded: dict = {}
    for name, filename in PRODUCT_FILES.items():
        try:
            path = save_with(store, lambda target, name=name: products.save(name, target),
                             f"products/{record.plume_id}/{filename}")
        except ProductNotAvailable:
            missing.append(name)
            loaded[name] = None
            continue
        row[f"{name}_path"] = path
        local = path if store.is_local else None
        if local is None:
            loaded[name] = getattr(products, name)
        else:
            loaded[name] = _load_raster(local) if filename.endswith(".tif") else _load_outline(local)
    outline = loaded["outline"]
    if outline is None and loaded["mask"] is not None:
        outline = alpha_outline(loaded["mask"])
    row.update(stats.mask_stats(loaded["mask"]))
    row.update(stats.concentration_stats(loaded["concentrations"]))
    row.update(stats.ime_stats(loaded["ime_concentrations"], record.wind_speed_avg_auto, str(record.gas),
                               str(record.instrument), record.emission_auto))
    row.update(geometry=outline, ime_geometry=loaded["ime_outline"],
               outline_area_m2=stats.geodesic_area_m2(outline),
               ime_outline_area_m2=stats.geodesic_area_m2(loaded["ime_outline"]),
               missing_assets=",".join(missing) or None, n_missing=len(missing))
    if with_plot:
        row["quicklook_png"] = figures.render(
            quicklook_path(record.plume_id), plots.plume_quicklook, record.plume_id, loaded["mask"],
            loaded["concentrations"], loaded["ime_concentrations"], loaded["rgb"], outline,
            workers=figure_workers)
    return row


def plume_dirs(plume_id: str) -> list[str]:
    """Directories holding one plume's files (products, crops, pictures)."""
    return [f"products/{plume_id}", f"crops/{plume_id}", f"plots/plumes/{plume_id}"]


def remove_plume_temporaries(store: Storage, records: Sequence[PlumeRecord], log) -> None:
    """Remove what killed writes left in the plumes' directories (reused plumes included)."""
    for record in records:
        try:
            store.remove_stale_temporaries(plume_dirs(record.plume_id))
        except OSError as error:
            log.warning(f"{record.plume_id}: temporaries not removed: {describe(error)}")


def read_previous(store: Storage, rel: str, log) -> pd.DataFrame | None:
    """The table a previous run of the day wrote, or None when absent or unreadable (rebuilt)."""
    if not store.exists(rel):
        return None
    try:
        return store.read_parquet(rel)
    except Exception as error:  # a damaged table only costs the reuse of its rows
        log.warning(f"{rel}: previous table unreadable, rebuilding it: {describe(error)}")
        return None


def _reusable(store: Storage, day: str, log) -> dict[tuple[str, str], dict]:
    """Rows of the previous run of ``day`` that are complete and whose files are still on disk."""
    previous = read_previous(store, products_path(day), log)
    if previous is None:
        return {}
    rows = {}
    for row in previous.to_dict("records"):
        paths = [row.get(f"{key}_path") for key in PRODUCT_FILES]
        if pd.isna(row.get("error")) and all(pd.isna(p) or store.exists(_rel(store, p)) for p in paths):
            rows[(row["plume_id"], row["emission_version"])] = row
    return rows


def _rel(store: Storage, uri: str) -> str:
    return str(uri)[len(store.uri("")):].lstrip("/")


def plan_products(client, records: list[PlumeRecord], store: Storage, day: str,
                  config: ProductsConfig, log) -> DayPlan:
    """The products table of one day, one task per plume (previous complete rows of unchanged
    plumes are reused)."""
    remove_plume_temporaries(store, records, log)
    reuse = _reusable(store, day, log)

    def one(record: PlumeRecord) -> dict:
        known = reuse.get((record.plume_id, record.emission_version))
        if known is not None:
            return known
        try:
            return plume_row(client, record, store, day, config.plots, config.figure_workers)
        except Exception as error:  # one plume's fetch/write/read failure never stops the day
            if is_run_wide(error):
                raise
            log.warning(f"{record.plume_id}: products failed: {describe(error)}")
            return {"plume_id": record.plume_id, "observation_day": day, "error": describe(error),
                    "emission_version": record.emission_version, "emission_auto": record.emission_auto}

    def assemble(rows: list[dict]) -> pd.DataFrame:
        return conform(pd.DataFrame(figures.write_figures(rows, store, log)), "plume_products")

    return DayPlan(day, [lambda record=record: [one(record)] for record in records], assemble)


def records_by_day(client, store: Storage, days: list[str]) -> dict[str, list[PlumeRecord]]:
    """Typed records (with fresh signed URLs) of the plumes in each day's catalog partition."""
    payloads = fetch_payloads_by_day(client, days)
    return {day: day_records(store, day, payloads[day]) for day in days}


def day_records(store: Storage, day: str, payloads: list[dict]) -> list[PlumeRecord]:
    """The parseable ``payloads`` of plumes that are in the day's catalog partition."""
    if not store.exists(catalog_path(day)):
        return []
    wanted = set(store.read_columns(catalog_path(day), ["plume_id"])["plume_id"])
    records = {}
    for payload in payloads:
        try:
            record = PlumeRecord.parse(payload)
        except RecordError:
            continue
        if record.plume_id in wanted:
            records[record.plume_id] = record
    return [records[k] for k in sorted(records)]


def _dir_and_name(rel: str) -> tuple[list[str], list[str]]:
    directory, name = rel.rsplit("/", 1)
    return [directory], [name]


def build_days(days: Sequence[str], carbonmapper: CarbonMapperResource, store: Storage,
               path: Callable[[str], str], table: str,
               plan: Callable[[CarbonMapperClient, list[PlumeRecord], str], DayPlan],
               workers: int) -> pd.DataFrame:
    """Build and write ``table`` for each day of the run with one client (closed afterwards) and
    one pool of ``workers`` in-flight tasks shared by all days; returns all days' rows. Each day's
    file is replaced atomically as soon as its tasks are done, so a rerun leaves no duplicates and a
    killed run keeps its finished days."""
    with carbonmapper.get_client() as client:
        records = records_by_day(client, store, list(days))
        for day in days:
            store.remove_stale_temporaries(*_dir_and_name(path(day)))
        frames = run_days((plan(client, records[day], day) for day in days), workers,
                          lambda day, frame: store.write_parquet(frame, path(day)))
    return pd.concat(frames, ignore_index=True) if frames else conform(pd.DataFrame(), table)


def products_checks(frame: pd.DataFrame) -> list:
    return [checks.check_geometries(frame, ("geometry", "ime_geometry"), "valid_outlines"),
            checks.check_nodata(frame, "concentrations_nodata_fraction", "raster_nodata_fraction"),
            checks.check_ime_agreement(frame)]


def picture_metadata(frame: pd.DataFrame, png_column: str, caption: str) -> dict:
    """Link to the most significant picture and embed a small copy of it."""
    if frame.empty or png_column not in frame or frame[png_column].isna().all():
        return {}
    ranked = frame.dropna(subset=[png_column])
    if "emission_auto" in ranked and ranked["emission_auto"].notna().any():
        ranked = ranked.sort_values("emission_auto", ascending=False, na_position="last")
    top = ranked.iloc[0]
    with open(top[png_column], "rb") as fh:
        png = fh.read()
    return {f"{png_column}_top": MetadataValue.path(top[png_column]),
            f"{png_column}_preview": embedded_png(plots.thumbnail(png), f"{caption}: {top['plume_id']}")}


@asset(
    partitions_def=observation_days,
    backfill_policy=BackfillPolicy.single_run(),
    deps=["plume_catalog"],
    group_name="products",
    kinds={"geoparquet", "cog"},
    check_specs=[AssetCheckSpec(name, asset="plume_products") for name in PRODUCT_CHECKS],
)
def plume_products(context: AssetExecutionContext, config: ProductsConfig, carbonmapper: CarbonMapperResource,
                   storage: StorageResource) -> MaterializeResult:
    """For every plume of the day: the mask, concentrations, IME concentrations, IME mask and rgb
    rasters (COG) and both outlines (GeoJSON) under products/{plume_id}/, with mask pixels,
    enhancement max/mean/sum, geodesic outline areas (m²), IME and the emission recomputed with
    cm_assets.ime and its ratio to emission_auto. Missing optional assets are listed per plume.
    Table: products/day=YYYY-MM-DD.parquet; quick-looks: plots/plumes/{plume_id}/quicklook.png."""
    store = storage.storage()
    frame = build_days(context.partition_keys, carbonmapper, store, products_path, "plume_products",
                       lambda client, records, day: plan_products(client, records, store, day, config,
                                                                  context.log), config.workers)
    metadata = table_metadata(frame, "plume_products", PREVIEW)
    metadata.update({"missing_assets": int(frame["n_missing"].fillna(0).gt(0).sum()),
                     "errors": int(frame["error"].notna().sum()),
                     "path": MetadataValue.path(store.uri(products_path(context.partition_keys[-1])))})
    if store.is_local:
        metadata.update(picture_metadata(frame, "quicklook_png", "Quick-look"))
    return MaterializeResult(metadata=metadata, check_results=products_checks(frame))
