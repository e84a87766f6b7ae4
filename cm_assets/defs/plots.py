"""PNG pictures for the UI: plume quick-look, L3A-vs-L2B comparison, source emission timeline.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot state, thread-safe).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry  # noqa: E402


def _png(fig: Figure, dpi: int = 90) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
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


def _outline(ax, outline: BaseGeometry | None, crs) -> None:
    if outline is None or outline.is_empty:
        return
    geom = reproject_geometry(outline, "EPSG:4326", crs)
    for poly in getattr(geom, "geoms", [geom]):
        if hasattr(poly, "exterior"):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="red", lw=1.2)


def _raster_panel(fig, ax, raster: GeoArray | None, title: str, cmap: str | None, outline,
                  band: int = 0, label: str | None = None) -> None:
    if raster is None:
        ax.set_title(f"{title} (missing)", fontsize=9)
        ax.set_axis_off()
        return
    if cmap is None:
        ax.imshow(_rgb_image(raster), extent=_extent(raster), origin="upper")
    else:
        image = ax.imshow(_masked(raster, band), extent=_extent(raster), origin="upper", cmap=cmap)
        if label:
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)
    _outline(ax, outline, raster.crs)
    height, width = raster.values.shape[1:]
    ax.set_title(f"{title}\n{width} × {height} px", fontsize=9)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)


def plume_quicklook(plume_id: str, mask: GeoArray | None, concentrations: GeoArray | None,
                    ime_concentrations: GeoArray | None, rgb: GeoArray | None,
                    outline: BaseGeometry | None) -> bytes:
    """Four panels (mask alpha, concentrations, IME concentrations, rgb), outline overlaid, all
    locked to one viewport: the union of the rasters' extents."""
    fig = Figure(figsize=(12, 3.6), constrained_layout=True)
    axes = fig.subplots(1, 4)
    alpha_band = mask.values.shape[0] - 1 if mask is not None else 0
    panels = [(mask, "mask (plume.tif alpha)", "Reds", alpha_band, None),
              (concentrations, "plume-concentrations", "magma", 0, "ppm·m"),
              (ime_concentrations, "ime-cmf-concentrations", "magma", 0, "ppm·m"),
              (rgb, "rgb", None, 0, None)]
    present = [r for r, *_ in panels if r is not None]
    for ax, (raster, title, cmap, band, label) in zip(axes, panels):
        _raster_panel(fig, ax, raster, title, cmap, outline, band, label)
    if present:
        bounds = np.array([r.bounds for r in present if str(r.crs) == str(present[0].crs)])
        for ax, (raster, *_rest) in zip(axes, panels):
            if raster is not None:
                ax.set_xlim(bounds[:, 0].min(), bounds[:, 2].max())
                ax.set_ylim(bounds[:, 1].min(), bounds[:, 3].max())
    fig.suptitle(plume_id, fontsize=10)
    return _png(fig)


def l3a_vs_l2b(plume_id: str, l3a_concentrations: GeoArray | None, cmf: GeoArray | None,
               rgb: GeoArray | None, uncertainty: GeoArray | None, outline: BaseGeometry | None,
               pad_px: int) -> bytes:
    """2×2: the L3A thumbnail next to the L2B crops (cmf, rgb, uncertainty) at native resolution."""
    fig = Figure(figsize=(10, 9), constrained_layout=True)
    axes = fig.subplots(2, 2)
    _raster_panel(fig, axes[0, 0], l3a_concentrations, "L3A plume-concentrations (thumbnail)", "magma",
                  outline, label="ppm·m")
    _raster_panel(fig, axes[0, 1], cmf, f"L2B cmf crop (pad {pad_px} px)", "magma", outline, label="ppm·m")
    _raster_panel(fig, axes[1, 0], rgb, f"L2B rgb crop (pad {pad_px} px)", None, outline)
    _raster_panel(fig, axes[1, 1], uncertainty, f"L2B uncertainty crop (pad {pad_px} px)", "viridis",
                  outline, label="ppm·m")
    fig.suptitle(f"{plume_id}: L3A thumbnail vs L2B crop", fontsize=10)
    return _png(fig)


def source_timeline(source_name: str, detections: pd.DataFrame, site_emission: float | None) -> bytes:
    """Emission of every detection over time, one colour per instrument, site emission dashed."""
    fig = Figure(figsize=(10, 3.8), constrained_layout=True)
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
    return _png(fig)


def thumbnail(png: bytes, width_px: int = 480) -> bytes:
    """A smaller copy of ``png`` for embedding in markdown metadata."""
    from matplotlib import image as mpimg

    array = mpimg.imread(io.BytesIO(png), format="png")
    step = max(1, int(np.ceil(array.shape[1] / width_px)))
    buffer = io.BytesIO()
    mpimg.imsave(buffer, array[::step, ::step], format="png")
    return buffer.getvalue()

