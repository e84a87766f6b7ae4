"""PNG pictures: plume quick-look, L2B context, L3A-vs-L2B comparison, source emission timeline.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot state, thread-safe),
with fixed margins instead of a layout engine, few ticks, nearest-neighbour images and fast PNG
compression: rendering is most of the per-plume cost of the graph.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry  # noqa: E402


#: Resolution of the pictures the assets store (the quick-look is 960 × 288 px).
DPI = 80
#: Resolution of the on-demand reports (the four-panel figure is 1920 × 576 px).
FULL_DPI = 160
#: zlib level of the PNGs (1: fastest; the pictures are small either way).
PNG_COMPRESSION = 1


def _png(fig: Figure, dpi: int = DPI) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return buffer.getvalue()


def _masked(raster: GeoArray, band: int = 0) -> np.ndarray:
    values = raster.values[band].astype("float32")
    if raster.nodata is not None and not np.isnan(raster.nodata):
        values = np.where(values == raster.nodata, np.nan, values)
    return values


def _extent(raster: GeoArray) -> tuple[float, float, float, float]:
    west, south, east, north = raster.bounds
    return (west, east, south, north)


def _rgb_image(raster: GeoArray) -> np.ndarray:
    image = np.moveaxis(raster.values[:3], 0, -1).astype("float32")
    lo, hi = np.nanpercentile(image, [2, 98]) if np.isfinite(image).any() else (0.0, 1.0)
    return np.clip((image - lo) / max(hi - lo, 1e-9), 0, 1)


def _rings(outline: BaseGeometry | None, crs) -> list[np.ndarray]:
    """Exterior rings of the lon/lat ``outline`` in ``crs``."""
    if outline is None or outline.is_empty:
        return []
    geom = reproject_geometry(outline, "EPSG:4326", crs)
    return [np.asarray(poly.exterior.coords) for poly in getattr(geom, "geoms", [geom])
            if hasattr(poly, "exterior")]


def _outline_rings(outline: BaseGeometry | None) -> Callable[[object], list[np.ndarray]]:
    """``crs -> rings`` of ``outline``, reprojected once per CRS however many panels share it."""
    cache: dict[str, list[np.ndarray]] = {}

    def rings(crs) -> list[np.ndarray]:
        if str(crs) not in cache:
            cache[str(crs)] = _rings(outline, crs)
        return cache[str(crs)]

    return rings


def _draw_outline(ax, rings: list[np.ndarray]) -> None:
    for ring in rings:
        ax.plot(ring[:, 0], ring[:, 1], color="red", lw=1.2)


def _raster_panel(fig, ax, raster: GeoArray | None, title: str, cmap: str | None, rings,
                  band: int = 0, label: str | None = None) -> None:
    """One raster (RGB when ``cmap`` is None) with the outline ``rings(crs)`` drawn over it."""
    if raster is None:
        ax.set_title(f"{title} (missing)", fontsize=9)
        ax.set_axis_off()
        return
    shown = _rgb_image(raster) if cmap is None else _masked(raster, band)
    image = ax.imshow(shown, extent=_extent(raster), origin="upper", cmap=cmap, interpolation="nearest")
    if cmap is not None and label:
        colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        colorbar.set_label(label, fontsize=7)
        colorbar.ax.tick_params(labelsize=6)
        colorbar.locator = MaxNLocator(4)
    _draw_outline(ax, rings(raster.crs))
    height, width = raster.values.shape[1:]
    ax.set_title(f"{title}\n{width} × {height} px", fontsize=9)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.yaxis.set_major_locator(MaxNLocator(4))


def plume_quicklook(plume_id: str, mask: GeoArray | None, concentrations: GeoArray | None,
                    ime_concentrations: GeoArray | None, rgb: GeoArray | None,
                    outline: BaseGeometry | None, dpi: int = DPI) -> bytes:
    """Four panels (mask alpha, concentrations, IME concentrations, rgb), outline overlaid, all
    locked to one viewport: the union of the rasters' extents."""
    fig = Figure(figsize=(12, 3.6))
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.08, top=0.8, wspace=0.45)
    axes = fig.subplots(1, 4)
    rings = _outline_rings(outline)
    alpha_band = mask.values.shape[0] - 1 if mask is not None else 0
    panels = [(mask, "mask (plume.tif alpha)", "Reds", alpha_band, None),
              (concentrations, "plume-concentrations", "magma", 0, "ppm·m"),
              (ime_concentrations, "ime-cmf-concentrations", "magma", 0, "ppm·m"),
              (rgb, "rgb", None, 0, None)]
    present = [r for r, *_ in panels if r is not None]
    for ax, (raster, title, cmap, band, label) in zip(axes, panels):
        _raster_panel(fig, ax, raster, title, cmap, rings, band, label)
    if present:
        bounds = np.array([r.bounds for r in present if str(r.crs) == str(present[0].crs)])
        for ax, (raster, *_rest) in zip(axes, panels):
            if raster is not None:
                ax.set_xlim(bounds[:, 0].min(), bounds[:, 2].max())
                ax.set_ylim(bounds[:, 1].min(), bounds[:, 3].max())
    fig.suptitle(plume_id, fontsize=10)
    return _png(fig, dpi)


def l3a_vs_l2b(plume_id: str, l3a_concentrations: GeoArray | None, cmf: GeoArray | None,
               rgb: GeoArray | None, uncertainty: GeoArray | None, outline: BaseGeometry | None,
               pad_px: int, dpi: int = DPI) -> bytes:
    """2×2: the L3A thumbnail next to the L2B crops (cmf, rgb, uncertainty) at native resolution."""
    fig = Figure(figsize=(10, 9))
    fig.subplots_adjust(left=0.08, right=0.95, bottom=0.04, top=0.9, wspace=0.35, hspace=0.3)
    axes = fig.subplots(2, 2)
    rings = _outline_rings(outline)
    _raster_panel(fig, axes[0, 0], l3a_concentrations, "L3A plume-concentrations (thumbnail)", "magma",
                  rings, label="ppm·m")
    _raster_panel(fig, axes[0, 1], cmf, f"L2B cmf crop (pad {pad_px} px)", "magma", rings, label="ppm·m")
    _raster_panel(fig, axes[1, 0], rgb, f"L2B rgb crop (pad {pad_px} px)", None, rings)
    _raster_panel(fig, axes[1, 1], uncertainty, f"L2B uncertainty crop (pad {pad_px} px)", "viridis",
                  rings, label="ppm·m")
    fig.suptitle(f"{plume_id}: L3A thumbnail vs L2B crop", fontsize=10)
    return _png(fig, dpi)


def l2b_context(plume_id: str, cmf: GeoArray | None, rgb: GeoArray | None, uncertainty: GeoArray | None,
                outline: BaseGeometry | None, scale: float, dpi: int = DPI) -> bytes:
    """Three panels (cmf, rgb, uncertainty) of the L2B scene over the outline's bounds widened
    ``scale`` times about their centre, outline overlaid."""
    fig = Figure(figsize=(15, 5.2))
    fig.subplots_adjust(left=0.05, right=0.97, bottom=0.08, top=0.84, wspace=0.35)
    axes = fig.subplots(1, 3)
    rings = _outline_rings(outline)
    _raster_panel(fig, axes[0], cmf, "L2B cmf", "magma", rings, label="ppm·m")
    _raster_panel(fig, axes[1], rgb, "L2B rgb", None, rings)
    _raster_panel(fig, axes[2], uncertainty, "L2B uncertainty", "viridis", rings, label="ppm·m")
    fig.suptitle(f"{plume_id}: L2B context ({scale:g}× the outline's bounds)", fontsize=10)
    return _png(fig, dpi)


def source_timeline(source_name: str, detections: pd.DataFrame, site_emission: float | None,
                    dpi: int = DPI) -> bytes:
    """Emission of every detection over time, one colour per instrument, site emission dashed."""
    fig = Figure(figsize=(10, 3.8))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9)
    ax = fig.subplots()
    points = detections.dropna(subset=["scene_timestamp", "emission_auto"])
    for instrument, subset in points.groupby("instrument"):
        ax.scatter(pd.to_datetime(subset["scene_timestamp"]).dt.tz_localize(None), subset["emission_auto"],
                   s=22, alpha=0.75, label=f"{instrument} ({len(subset)})")
    if site_emission is not None and np.isfinite(site_emission):
        ax.axhline(site_emission, color="black", linestyle="--", linewidth=1,
                   label=f"site emission = {site_emission:.0f} kg/h")
    ax.set_xlabel("observation time (UTC)")
    ax.set_ylabel("emission_auto (kg/h)")
    ax.set_title(f"Emission timeline · {source_name}", fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _png(fig, dpi)


def thumbnail(png: bytes, width_px: int = 480) -> bytes:
    """A smaller copy of ``png`` for embedding in markdown metadata."""
    from matplotlib import image as mpimg

    array = mpimg.imread(io.BytesIO(png), format="png")
    step = max(1, int(np.ceil(array.shape[1] / width_px)))
    buffer = io.BytesIO()
    mpimg.imsave(buffer, array[::step, ::step], format="png")
    return buffer.getvalue()

