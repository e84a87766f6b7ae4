"""The ``plume_products`` asset: the seven per-plume products stored locally, with statistics."""

import json
import tempfile
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
)
from pydantic import Field

from cm_assets.carbonmapper.files import geometry_from_geojson
from cm_assets.carbonmapper.errors import ProductNotAvailable, describe, is_run_wide
from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.carbonmapper.products import PLUME_PRODUCTS, PlumeProducts, alpha_outline
from cm_assets.carbonmapper.transport import POOL_SIZE
from cm_assets.defs import checks, figures
from cm_assets.defs.day_tables import all_days, build_days, read_previous, remove_plume_temporaries
from cm_assets.defs.engine import DayPlan
from cm_assets.defs.metadata import PicturePreviews, table_metadata
from cm_assets.defs.partitions import day_asset
from cm_assets.defs.products import stats
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.reports import plots
from cm_assets.storage import layout
from cm_assets.storage.store import Storage, save_staged
from cm_assets.sql.schema import conform

PRODUCT_FILES = {name: key for name, (_family, key) in PLUME_PRODUCTS.items()}
PRODUCT_CHECKS = ["valid_outlines", "raster_nodata_fraction", "ime_agreement"]
PREVIEW = ["plume_id", "mask_pixels", "max_enhancement", "outline_area_m2", "emission_auto",
           "emission_recomputed", "emission_ratio", "missing_assets"]


class ProductsConfig(Config):
    workers: int = Field(default=8, description="Plumes fetched concurrently, across all days of the run.")
    file_workers: int = Field(default=POOL_SIZE, description="Product files in flight at once, across the run's "
                                                             "plumes (a plume's seven files are asked for together).")
    plots: bool = Field(default=True, description="Render each plume's four-panel quick-look PNG.")
    figure_workers: int | None = Field(default=figures.FIGURE_WORKERS, description=figures.WORKERS_HELP)


def _load_outline(path: Path):
    with open(path, "rb") as fh:
        return geometry_from_geojson(json.load(fh))


def _save_all(products: PlumeProducts, store: Storage, plume_id: str, files: Executor,
              staging: Path) -> dict[str, tuple[str, Path] | None]:
    """Each product file stored unchanged (its path or URI and a local copy to read, see
    :func:`save_staged`; None: the API has no such asset), all seven in flight at once on ``files``."""
    def save(name: str, filename: str) -> tuple[str, Path] | None:
        try:
            return save_staged(store, lambda target: products.save(name, target),
                               layout.product_file(plume_id, filename), staging)
        except ProductNotAvailable:
            return None

    saving = {name: files.submit(save, name, filename) for name, filename in PRODUCT_FILES.items()}
    return {name: future.result() for name, future in saving.items()}


def plume_row(client, record: PlumeRecord, store: Storage, day: str, with_plot: bool, files: Executor,
              figure_workers: int | None = figures.FIGURE_WORKERS) -> dict:
    """Store one plume's seven products unchanged (fetched together on ``files``, each once) and
    measure them; a missing asset is listed. The quick-look is a
    :class:`~cm_assets.defs.figures.PendingFigure` until the day is assembled."""
    products = client.plume_products(record)
    missing: list[str] = []
    row: dict = {"plume_id": record.plume_id, "observation_day": day,
                 "emission_version": record.emission_version, "emission_auto": record.emission_auto}
    loaded: dict = {}
    with tempfile.TemporaryDirectory(prefix="products-") as staging:  # read back on an object store
        for name, saved in _save_all(products, store, record.plume_id, files, Path(staging)).items():
            if saved is None:
                missing.append(name)
                loaded[name] = None
                continue
            row[f"{name}_path"], local = saved
            loaded[name] = GeoArray.from_file(local) if PRODUCT_FILES[name].endswith(".tif") else _load_outline(local)
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
            layout.quicklook_png(record.plume_id), plots.plume_quicklook, record.plume_id, loaded["mask"],
            loaded["concentrations"], loaded["ime_concentrations"], loaded["rgb"], outline,
            workers=figure_workers)
    return row


def _reusable(store: Storage, day: str, log) -> dict[tuple[str, str], dict]:
    """Rows of the previous run of ``day`` that are complete and whose files are still on disk."""
    previous = read_previous(store, layout.products_day(day), log)
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
                  config: ProductsConfig, files: Executor, log, previews: PicturePreviews | None = None) -> DayPlan:
    """The products table of one day, one task per plume, its files fetched on ``files`` (previous
    complete rows of unchanged plumes are reused); the day's quick-look thumbnail started on
    ``previews``."""
    remove_plume_temporaries(store, records, layout.product_dirs, log)
    reuse = _reusable(store, day, log)
    if config.plots and any((record.plume_id, record.emission_version) not in reuse for record in records):
        figures.start_workers(config.figure_workers)  # a plume to draw: their start-up overlaps the fetching

    def one(record: PlumeRecord) -> dict:
        known = reuse.get((record.plume_id, record.emission_version))
        if known is not None:
            return known
        try:
            return plume_row(client, record, store, day, config.plots, files, config.figure_workers)
        except Exception as error:  # one plume's fetch/write/read failure never stops the day
            if is_run_wide(error):
                raise
            log.warning(f"{record.plume_id}: products failed: {describe(error)}")
            return {"plume_id": record.plume_id, "observation_day": day, "error": describe(error),
                    "emission_version": record.emission_version, "emission_auto": record.emission_auto}

    def assemble(rows: list[dict]) -> pd.DataFrame:
        table = conform(pd.DataFrame(figures.write_figures(rows, store, log)), "plume_products")
        if previews is not None:
            previews.add(day, table)
        return table

    return DayPlan(day, [lambda record=record: [one(record)] for record in records], assemble)


def products_metadata(table: pd.DataFrame, store: Storage, day: str, previews: PicturePreviews | None = None) -> dict:
    """Metadata of one day's materialization: its rows, file and most significant quick-look."""
    metadata = table_metadata(table, "plume_products", PREVIEW)
    metadata.update({"missing_assets": int(table["n_missing"].fillna(0).gt(0).sum()),
                     "errors": int(table["error"].notna().sum()),
                     "path": MetadataValue.path(store.uri(layout.products_day(day)))})
    if previews is not None:
        metadata.update(previews.metadata(day))
    return metadata


def products_checks(frame: pd.DataFrame) -> list:
    return [checks.check_geometries(frame, ("geometry", "ime_geometry"), "valid_outlines"),
            checks.check_nodata(frame, "concentrations_nodata_fraction", "raster_nodata_fraction"),
            checks.check_ime_agreement(frame)]


@day_asset(
    deps=["plume_catalog"],
    group_name="products",
    kinds={"geoparquet", "cog"},
    check_specs=checks.check_specs("plume_products", PRODUCT_CHECKS),
)
def plume_products(context: AssetExecutionContext, config: ProductsConfig, carbonmapper: CarbonMapperResource,
                   storage: StorageResource) -> MaterializeResult:
    """For every plume of the day: the mask, concentrations, IME concentrations, IME mask and rgb
    rasters (COG) and both outlines (GeoJSON) under products/{plume_id}/, with mask pixels,
    enhancement max/mean/sum, geodesic outline areas (m²), IME and the emission recomputed with
    cm_assets.ime and its ratio to emission_auto. Missing optional assets are listed per plume.
    Table: products/day=YYYY-MM-DD.parquet; quick-looks: plots/plumes/{plume_id}/quicklook.png."""
    store = storage.storage_for(carbonmapper)
    previews = PicturePreviews("quicklook_png", "Quick-look", context.log, workers=config.figure_workers) \
        if store.is_local else None
    with ThreadPoolExecutor(max_workers=max(1, config.file_workers), thread_name_prefix="file") as files:
        tables = build_days(context.partition_keys, carbonmapper, store, layout.products_day, "plume_products",
                            lambda client, records, day: plan_products(client, records, store, day, config, files,
                                                                       context.log, previews), config.workers)
    for day, table in tables.items():
        context.add_asset_metadata(products_metadata(table, store, day, previews), partition_key=day)
    return MaterializeResult(metadata={"days": len(tables)},
                             check_results=products_checks(all_days(tables, "plume_products")))
