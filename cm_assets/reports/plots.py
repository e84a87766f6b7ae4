"""PNG pictures: plume quick-look, L2B context, L3A-vs-L2B comparison, source emission timeline.

Drawn on :class:`~cm_assets.reports.canvas.Canvas` (numpy + Pillow, nearest-neighbour images,
fixed margins, fast PNG compression) rather than with matplotlib figures, whose axes, tick and text
objects cost more per picture than fetching the plume (see the canvas module).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib import colormaps
from PIL import Image
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry
from cm_assets.reports.canvas import (PNG_COMPRESSION, PNG_STRATEGY, Axes, Canvas, as_date_numbers, colorbar,
                                      colormapped, date_ticks, nice_ticks)

#: Resolution of the pictures the assets store (the quick-look is 960 × 288 px).
DPI = 80
#: Resolution of the on-demand reports (the four-panel figure is 1920 × 576 px).
FULL_DPI = 160
RED = (255, 0, 0)
#: Colour-bar width and its gap to the image, as fractions of the panel's width.
COLORBAR_FRACTION, COLORBAR_PAD = 0.046, 0.04

Box = tuple[float, float, float, float]


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


def _rgba(raster: GeoArray, cmap: str | None, band: int) -> tuple[np.ndarray, float, float]:
    """The panel's pixels (RGB stretch when ``cmap`` is None) and the range its colours span."""
    if cmap is not None:
        return colormapped(_masked(raster, band), cmap)
    rgb = _rgb_image(raster)
    alpha = np.where(np.isfinite(rgb).all(axis=-1), 255, 0).astype(np.uint8)
    return np.dstack([(np.nan_to_num(rgb) * 255).astype(np.uint8), alpha]), 0.0, 1.0


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


def _raster_panel(canvas: Canvas, box: Box, raster: GeoArray | None, title: str, cmap: str | None, rings,
                  band: int = 0, label: str | None = None,
                  view: tuple[tuple[float, float], tuple[float, float]] | None = None) -> None:
    """One raster (RGB when ``cmap`` is None) in ``box`` with its colour bar, the outline
    ``rings(crs)`` over it, coordinate ticks and a title; ``view``: (xlim, ylim), default the
    raster's extent."""
    if raster is None:
        canvas.title(box, f"{title} (missing)", 9)
        return
    extent = _extent(raster)
    xlim, ylim = view or ((extent[0], extent[1]), (extent[2], extent[3]))
    rgba, lo, hi = _rgba(raster, cmap, band)
    with_bar = cmap is not None and label is not None
    x0, y0, x1, y1 = box
    width = x1 - x0
    plot_box = (x0, y0, x1 - (COLORBAR_FRACTION + COLORBAR_PAD) * width, y1) if with_bar else box
    ax = Axes.equal(canvas, plot_box, xlim, ylim)
    ax.image(rgba, extent)
    for ring in rings(raster.crs):
        ax.line(ring[:, 0], ring[:, 1], RED, 1.2, oversample=4)
    ax.frame(nice_ticks(*xlim, 3), nice_ticks(*ylim, 4), 6)
    if with_bar:
        bar_x0 = ax.box[2] + COLORBAR_PAD * width
        colorbar(canvas, (bar_x0, ax.box[1], bar_x0 + COLORBAR_FRACTION * width, ax.box[3]), cmap, lo, hi,
                 label, 6)
    height, columns = raster.values.shape[1:]
    canvas.title(ax.box, f"{title}\n{columns} × {height} px", 9)


def plume_quicklook(plume_id: str, mask: GeoArray | None, concentrations: GeoArray | None,
                    ime_concentrations: GeoArray | None, rgb: GeoArray | None,
                    outline: BaseGeometry | None, dpi: int = DPI) -> bytes:
    """Four panels (mask alpha, concentrations, IME concentrations, rgb), outline overlaid, all
    locked to one viewport: the union of the extents of the rasters in the first one's CRS."""
    canvas = Canvas((12, 3.6), dpi)
    boxes = canvas.grid(1, 4, left=0.05, right=0.98, bottom=0.08, top=0.8, wspace=0.45)
    rings = _outline_rings(outline)
    alpha_band = mask.values.shape[0] - 1 if mask is not None else 0
    panels = [(mask, "mask (plume.tif alpha)", "Reds", alpha_band, None),
              (concentrations, "plume-concentrations", "magma", 0, "ppm·m"),
              (ime_concentrations, "ime-cmf-concentrations", "magma", 0, "ppm·m"),
              (rgb, "rgb", None, 0, None)]
    present = [r for r, *_ in panels if r is not None]
    view = None
    if present:
        bounds = np.array([r.bounds for r in present if str(r.crs) == str(present[0].crs)])
        view = ((bounds[:, 0].min(), bounds[:, 2].max()), (bounds[:, 1].min(), bounds[:, 3].max()))
    for box, (raster, title, cmap, band, label) in zip(boxes, panels):
        same_crs = raster is not None and present and str(raster.crs) == str(present[0].crs)
        _raster_panel(canvas, box, raster, title, cmap, rings, band, label, view if same_crs else None)
    canvas.text((canvas.width / 2, canvas.px(6)), plume_id, 10, anchor="ma")
    return canvas.png()


def l3a_vs_l2b(plume_id: str, l3a_concentrations: GeoArray | None, cmf: GeoArray | None,
               rgb: GeoArray | None, uncertainty: GeoArray | None, outline: BaseGeometry | None,
               pad_px: int, dpi: int = DPI) -> bytes:
    """2×2: the L3A thumbnail next to the L2B crops (cmf, rgb, uncertainty) at native resolution."""
    canvas = Canvas((10, 9), dpi)
    boxes = canvas.grid(2, 2, left=0.08, right=0.95, bottom=0.04, top=0.9, wspace=0.35, hspace=0.3)
    rings = _outline_rings(outline)
    _raster_panel(canvas, boxes[0], l3a_concentrations, "L3A plume-concentrations (thumbnail)", "magma",
                  rings, label="ppm·m")
    _raster_panel(canvas, boxes[1], cmf, f"L2B cmf crop (pad {pad_px} px)", "magma", rings, label="ppm·m")
    _raster_panel(canvas, boxes[2], rgb, f"L2B rgb crop (pad {pad_px} px)", None, rings)
    _raster_panel(canvas, boxes[3], uncertainty, f"L2B uncertainty crop (pad {pad_px} px)", "viridis",
                  rings, label="ppm·m")
    canvas.text((canvas.width / 2, canvas.px(6)), f"{plume_id}: L3A thumbnail vs L2B crop", 10, anchor="ma")
    return canvas.png()


def l3a_file_vs_l2b(plume_id: str, l3a_path: str | None, cmf: GeoArray | None, rgb: GeoArray | None,
                    uncertainty: GeoArray | None, outline: BaseGeometry | None, pad_px: int) -> bytes:
    """:func:`l3a_vs_l2b` with the L3A concentrations read from their COG at ``l3a_path`` (none:
    missing) by the drawing process."""
    l3a = None if l3a_path is None or pd.isna(l3a_path) else GeoArray.from_file(str(l3a_path))
    return l3a_vs_l2b(plume_id, l3a, cmf, rgb, uncertainty, outline, pad_px)


def l2b_context(plume_id: str, cmf: GeoArray | None, rgb: GeoArray | None, uncertainty: GeoArray | None,
                outline: BaseGeometry | None, scale: float, dpi: int = DPI) -> bytes:
    """Three panels (cmf, rgb, uncertainty) of the L2B scene over the outline's bounds widened
    ``scale`` times about their centre, outline overlaid."""
    canvas = Canvas((15, 5.2), dpi)
    boxes = canvas.grid(1, 3, left=0.05, right=0.97, bottom=0.08, top=0.84, wspace=0.35)
    rings = _outline_rings(outline)
    _raster_panel(canvas, boxes[0], cmf, "L2B cmf", "magma", rings, label="ppm·m")
    _raster_panel(canvas, boxes[1], rgb, "L2B rgb", None, rings)
    _raster_panel(canvas, boxes[2], uncertainty, "L2B uncertainty", "viridis", rings, label="ppm·m")
    canvas.text((canvas.width / 2, canvas.px(6)), f"{plume_id}: L2B context ({scale:g}× the outline's bounds)",
                10, anchor="ma")
    return canvas.png()


def _padded(lo: float, hi: float, margin: float = 0.05) -> tuple[float, float]:
    """[lo, hi] widened by ``margin`` of its span on both sides (a single value: ± 1)."""
    span = hi - lo
    return (lo - margin * span, hi + margin * span) if span > 0 else (lo - 1, hi + 1)


#: Bump when :func:`source_timeline` draws differently: stored timelines of another style are drawn again.
TIMELINE_STYLE = 1


def timeline_key(source_name: str, detections: pd.DataFrame, site_emission: float | None) -> str:
    """What a source's timeline is drawn from (and the style), hashed: an equal key, an equal picture."""
    digest = hashlib.sha256(f"{TIMELINE_STYLE}|{source_name}|{site_emission!r}|".encode())
    digest.update(detections.to_csv(index=False).encode())
    return digest.hexdigest()[:32]


def source_timeline(source_name: str, detections: pd.DataFrame, site_emission: float | None,
                    dpi: int = DPI) -> bytes:
    """Emission of every detection over time, one colour per instrument, site emission dashed."""
    points = detections.dropna(subset=["scene_timestamp", "emission_auto"])
    canvas = Canvas((10, 3.8), dpi)
    box = canvas.box(0.08, 0.15, 0.98, 0.9)
    site = site_emission if site_emission is not None and np.isfinite(site_emission) else None
    times = as_date_numbers(pd.to_datetime(points["scene_timestamp"]).dt.tz_localize(None).to_numpy())
    values = points["emission_auto"].to_numpy(dtype=float)
    levels = np.append(values, site) if site is not None else values
    xlim = _padded(times.min(), times.max()) if len(times) else (0.0, 1.0)
    ylim = _padded(levels.min(), levels.max()) if len(levels) else (0.0, 1.0)
    ax = Axes(canvas, box, xlim, ylim)
    xticks, xlabels = date_ticks(*xlim) if len(times) else ([], [])
    ax.frame(xticks, nice_ticks(*ylim, 6), 7, xlabels=xlabels, grid=True)
    palette = [tuple(round(255 * c) for c in rgb) for rgb in colormaps["tab10"].colors]
    legend: list[tuple[tuple[int, int, int], str, bool]] = []
    instruments = points["instrument"].to_numpy()
    for n, instrument in enumerate(sorted(set(instruments))):
        chosen = instruments == instrument
        colour = palette[n % len(palette)]
        ax.markers(times[chosen], values[chosen], colour, diameter_pt=22 ** 0.5, alpha=0.75)
        legend.append((colour, f"{instrument} ({int(chosen.sum())})", False))
    if site is not None:
        ax.line(xlim, (site, site), (0, 0, 0), 1, dashes=(3.7, 1.6))
        legend.append(((0, 0, 0), f"site emission = {site:.0f} kg/h", True))
    canvas.text(((box[0] + box[2]) / 2, box[3] + canvas.px(16)), "observation time (UTC)", 8, anchor="ma")
    canvas.text((box[0] - canvas.px(40), (box[1] + box[3]) / 2), "emission_auto (kg/h)", 8, rotate=True)
    canvas.title(box, f"Emission timeline · {source_name}", 10)
    _legend(canvas, box, legend, 8)
    return canvas.png()


def _legend(canvas: Canvas, box: Box, entries: list[tuple[tuple[int, int, int], str, bool]],
            points: float) -> None:
    """A framed key in the box's top right corner: a disc (or a dashed stroke) and a label per entry."""
    if not entries:
        return
    font = canvas.font(points)
    row = canvas.px(points) * 1.5
    key = canvas.px(points) * 2
    width = key + max(font.getlength(label) for _, label, _ in entries) + canvas.px(points)
    x1, y0 = box[2] - canvas.px(5), box[1] + canvas.px(5)
    x0, y1 = x1 - width, y0 + row * len(entries) + canvas.px(3)
    canvas.draw.rectangle([x0, y0, x1, y1], fill="white", outline=(204, 204, 204))
    radius = canvas.px(22 ** 0.5) / 2
    for n, (colour, label, dashed) in enumerate(entries):
        cy, cx = y0 + canvas.px(2) + (n + 0.5) * row, x0 + key / 2
        if dashed:
            canvas.draw.line([(cx - key / 3, cy), (cx - key / 12, cy)], fill=colour, width=1)
            canvas.draw.line([(cx + key / 12, cy), (cx + key / 3, cy)], fill=colour, width=1)
        else:
            canvas.draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
        canvas.text((x0 + key, cy), label, points, anchor="lm")


def thumbnail(png: bytes, width_px: int = 480) -> bytes:
    """A smaller copy of ``png`` for embedding in markdown metadata (every ``step``-th pixel, as
    wide as ``width_px`` or less)."""
    image = Image.open(io.BytesIO(png))
    step = max(1, math.ceil(image.width / width_px))
    small = image if step == 1 else image.resize((math.ceil(image.width / step), math.ceil(image.height / step)),
                                                 Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", compress_level=PNG_COMPRESSION, compress_type=PNG_STRATEGY)
    return buffer.getvalue()


def file_thumbnail(path: str, width_px: int = 480) -> bytes:
    """:func:`thumbnail` of the PNG file at ``path``."""
    with open(path, "rb") as fh:
        return thumbnail(fh.read(), width_px)
