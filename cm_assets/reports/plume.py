"""One plume on demand: the four-panel product figure, the L2B context (three panels over a wide
window) and the L3A-vs-L2B comparison, full size. Fetches only the record, the plume's seven small
products and windowed reads of its L2B scene; products and crops the pipeline already stored are
reused from the data root."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import shapely.affinity
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.files import geometry_from_geojson
from cm_assets.carbonmapper.client import CarbonMapperClient
from cm_assets.carbonmapper.errors import CarbonMapperError, ProductNotAvailable, SceneNotPublished
from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.carbonmapper.products import alpha_outline
from cm_assets.carbonmapper.scenes import SceneRaster
from cm_assets.carbonmapper.transport import POOL_SIZE
from cm_assets.reports import plots
from cm_assets.reports.files import Report
from cm_assets.reports.materialized import stored_crops, stored_products

FOUR_PANEL = ("mask", "concentrations", "ime_concentrations", "rgb")
CONTEXT_BANDS = ("cmf", "rgb", "uncertainty")
DEFAULT_PAD_PX = 64  # also in cm_assets.reports.cli
DEFAULT_CONTEXT_SCALE = 4.0  # also in cm_assets.reports.cli


def _products(client: CarbonMapperClient, record: PlumeRecord, warehouse: Path | None,
              report: Report, pool: Executor) -> tuple[dict[str, GeoArray | None], BaseGeometry | None]:
    """The four rasters of the quick-look and the outline: stored copies, else fetched at once on ``pool``."""
    stored = stored_products(warehouse, record.plume_id, record.emission_version)
    if stored is not None:
        report.sources["products"] = "reused from the data root"
        rasters = {n: GeoArray.from_file(stored[f"{n}_path"]) if f"{n}_path" in stored else None for n in FOUR_PANEL}
        outline = None
        if "outline_path" in stored:
            with open(stored["outline_path"], "rb") as fh:
                outline = geometry_from_geojson(json.load(fh))
        return rasters, outline or _fallback_outline(record, rasters["mask"])
    report.sources["products"] = "fetched from the API"
    products = client.plume_products(record)
    fetching_outline = pool.submit(lambda: products.outline)
    rasters = _each(FOUR_PANEL, products.raster, pool, (ProductNotAvailable,))
    for name, raster in rasters.items():
        if isinstance(raster, Exception):
            rasters[name] = None
            report.notes.append(f"{name} is not available for this plume")
    try:
        outline = fetching_outline.result()
    except CarbonMapperError:
        outline = None
    return rasters, outline or _fallback_outline(record, rasters["mask"])


def _each(names: Sequence[str], read: Callable[[str], GeoArray], pool: Executor,
          expected: tuple[type[Exception], ...]) -> dict[str, GeoArray | Exception]:
    """``read`` of every name at once on ``pool``: its raster, or the ``expected`` error it raised."""
    def one(name: str) -> GeoArray | Exception:
        try:
            return read(name)
        except expected as error:
            return error
    return dict(zip(names, pool.map(one, names)))


def _fallback_outline(record: PlumeRecord, mask: GeoArray | None) -> BaseGeometry | None:
    """The mask's alpha polygon, else the record's plume bounds, else a small box at the origin."""
    if mask is not None:
        try:
            return alpha_outline(mask)
        except ProductNotAvailable:
            pass
    if record.plume_bounds:
        return box(*record.plume_bounds)
    return record.point.buffer(0.005).envelope if record.point is not None else None


def _crops(scene: SceneRaster, record: PlumeRecord, outline: BaseGeometry, pad_px: int,
           warehouse: Path | None, report: Report, pool: Executor) -> dict[str, GeoArray | None]:
    """cmf, rgb and uncertainty crops at ``pad_px``: stored copies, else windowed reads at once on ``pool``."""
    stored = stored_crops(warehouse, record.plume_id, pad_px)
    if stored is not None:
        report.sources["crops"] = "reused from the data root"
        return {b: GeoArray.from_file(stored[f"{b}_path"]) if f"{b}_path" in stored else None for b in CONTEXT_BANDS}
    report.sources["crops"] = f"windowed reads of {scene.collection}"
    try:
        crops = scene.crops(CONTEXT_BANDS, outline, pool, pad_px=pad_px)
    except CarbonMapperError as error:  # e.g. the outline misses the scene: no band can be cropped
        report.notes.append(f"L2B crops unavailable: {error}")
        return dict.fromkeys(CONTEXT_BANDS)
    report.notes += [f"L2B {band} crop unavailable: not in the scene" for band, crop in crops.items() if crop is None]
    return crops


def context_window(outline: BaseGeometry, scale: float) -> BaseGeometry:
    """The outline's bounding box widened ``scale`` times about its centre."""
    return shapely.affinity.scale(box(*outline.bounds), xfact=scale, yfact=scale)


def _context(scene: SceneRaster, outline: BaseGeometry, scale: float, report: Report,
             pool: Executor) -> dict[str, GeoArray | None]:
    window = context_window(outline, scale)
    read = _each(CONTEXT_BANDS, lambda band: scene.read_polygon(window, bands=(band,))[band], pool,
                 (CarbonMapperError,))
    out: dict[str, GeoArray | None] = {}
    for band, value in read.items():  # notes in band order, from this thread
        failed = isinstance(value, Exception)
        if failed:
            report.notes.append(f"L2B {band} context unavailable: {value}")
        out[band] = None if failed else value
    if out["cmf"] is not None:
        height, width = out["cmf"].values.shape[1:]
        report.sources["l2b_context"] = f"{width} x {height} px of {scene.collection} ({scale:g}x the outline's bounds)"
    return out


def _summary_markdown(record: PlumeRecord, report: Report) -> str:
    fields = {"plume_id": record.plume_id, "gas": record.gas, "instrument": record.instrument_name,
              "observed (UTC)": record.scene_timestamp, "emission_auto (kg/h)": record.emission_auto,
              "emission_uncertainty_auto (kg/h)": record.emission_uncertainty_auto,
              "emission_version": record.emission_version, "sector": record.sector,
              "wind u, v (m/s)": (f"{record.wind_u:.2f}, {record.wind_v:.2f}"
                                  if record.wind_u is not None else None),
              "scene": record.scene_name}
    lines = [f"# Plume {record.plume_id}", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {'—' if v is None else v} |" for k, v in fields.items()]
    lines += ["", *[f"![{name}]({path.name})" for name, path in report.figures.items()]]
    lines += ["", *[f"- {what}: {how}" for what, how in report.sources.items()]]
    lines += [f"- note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def plume_report(client: CarbonMapperClient, plume_id: str, out_dir: Path, *,
                 warehouse: Path | None = None, pad_px: int = DEFAULT_PAD_PX,
                 context_scale: float = DEFAULT_CONTEXT_SCALE, dpi: int = plots.FULL_DPI) -> Report:
    """Write ``four_panel.png``, ``l2b_context.png``, ``l3a_vs_l2b.png`` and ``plume.md`` under
    ``out_dir``. An unpublished L2B scene leaves out the two L2B figures (noted). Raises
    :class:`PlumeNotFound` for an unknown id."""
    record = client.get_plume(plume_id)
    report = Report(f"plume {record.plume_id}", Path(out_dir))
    with ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="report") as pool:  # reads in flight together
        rasters, outline = _products(client, record, warehouse, report, pool)
        try:
            scene = client.scene_for_plume(record, pool)
        except SceneNotPublished as error:
            report.notes.append(f"no L2B figures: {error}")
            scene = None
        if scene is not None and outline is not None:
            context = _context(scene, outline, context_scale, report, pool)
            crops = _crops(scene, record, outline, pad_px, warehouse, report, pool)
    report.add("four_panel", "four_panel.png", plots.plume_quicklook(
        record.plume_id, rasters["mask"], rasters["concentrations"], rasters["ime_concentrations"],
        rasters["rgb"], outline, dpi=dpi), figure=True)
    if scene is not None and outline is not None:
        report.add("l2b_context", "l2b_context.png", plots.l2b_context(
            record.plume_id, context["cmf"], context["rgb"], context["uncertainty"], outline,
            context_scale, dpi=dpi), figure=True)
        report.add("l3a_vs_l2b", "l3a_vs_l2b.png", plots.l3a_vs_l2b(
            record.plume_id, rasters["concentrations"], crops["cmf"], crops["rgb"], crops["uncertainty"],
            outline, pad_px, dpi=dpi), figure=True)
    report.add("summary", "plume.md", _summary_markdown(record, report))
    return report
