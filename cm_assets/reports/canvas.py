"""A small raster canvas for the pictures: axes boxes, images, lines, markers and text drawn straight
into a Pillow image.

Why not matplotlib's figures: profiled (cProfile) on the quick-look and L3A-vs-L2B pictures of
the demo window, nearly all of a picture's time went to creating and drawing axes, tick and text
objects — not pixels — and the pictures cost the run more than three times its fetching (see
docs/pipeline.md#figures). Here a picture is a few numpy operations, Pillow text draws and a PNG
encode. matplotlib still supplies the colormaps, the tick locators and the DejaVu font it ships.
"""

from __future__ import annotations

import functools
import io
import math
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from matplotlib import colormaps, get_data_path
from matplotlib.colors import Colormap
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

#: zlib level and strategy of the PNGs: the fastest level with run-length matching only, which
#: encodes these pictures (flat backgrounds, nearest-neighbour blocks) about twice as fast as the
#: default strategy for files ~15 % larger.
PNG_COMPRESSION = 1
PNG_STRATEGY = zlib.Z_RLE
FONT_PATH = f"{get_data_path()}/fonts/ttf/DejaVuSans.ttf"
GRID = (222, 222, 222)

_fonts = threading.local()


def _font(size_px: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size_px``, one instance per thread and size (FreeType faces are not shared
    across threads)."""
    cache = getattr(_fonts, "cache", None)
    if cache is None:
        cache = _fonts.cache = {}
    if size_px not in cache:
        cache[size_px] = ImageFont.truetype(FONT_PATH, size_px)
    return cache[size_px]


@functools.lru_cache(maxsize=2048)
def _text_coverage(size_px: int, line: str, anchor: str, rotate: bool) -> tuple[Image.Image, int, int]:
    """One line of text as coverage (mode L) and the offset of its top-left corner from the anchor
    point (``rotate``: turned 90° counter-clockwise, centred). Rendered once per process: labels
    repeat across a run's pictures (tick values, units, axis titles; about 70 % of the text draws
    of the demo window), and FreeType's rendering was the largest part of drawing a panel."""
    font = _font(size_px)
    if rotate:
        left, top, right, bottom = font.getbbox(line)
        coverage = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        ImageDraw.Draw(coverage).text((1 - left, 1 - top), line, font=font, fill=255)
        coverage = coverage.rotate(90, expand=True)
        return coverage, -round(coverage.width / 2), -round(coverage.height / 2)
    left, top, right, bottom = font.getbbox(line, anchor=anchor)
    coverage = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(coverage).text((-left, -top), line, font=font, anchor=anchor, fill=255)
    return coverage, left, top


def nice_ticks(lo: float, hi: float, nbins: int) -> list[float]:
    """At most ``nbins + 1`` round values within [lo, hi] (matplotlib's MaxNLocator)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return []
    return [v for v in _locator(nbins).tick_values(lo, hi) if lo <= v <= hi]


@functools.lru_cache(maxsize=16)
def _locator(nbins: int) -> MaxNLocator:
    """One locator per bin count (``tick_values`` keeps no state between calls)."""
    return MaxNLocator(nbins)


@functools.lru_cache(maxsize=16)
def _colormap(name: str) -> Colormap:
    """One colormap per name and process, its lookup table built before it is shared:
    ``matplotlib.colormaps[name]`` hands out a new copy whose table is built on first use."""
    cmap = colormaps[name]
    cmap(0.0)
    return cmap


def tick_label(value: float, ticks: Sequence[float]) -> str:
    """``value`` with as many decimals as the tick step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{decimals}f}"


def _disc(diameter_px: float, rgba: tuple[int, int, int, int], oversample: int = 4) -> Image.Image:
    """A filled disc of ``diameter_px`` with soft (anti-aliased) edges, drawn large and reduced."""
    size = max(1, math.ceil(diameter_px)) + 1
    big = Image.new("RGBA", (size * oversample, size * oversample), (*rgba[:3], 0))
    inset = (size - diameter_px) / 2 * oversample
    ImageDraw.Draw(big).ellipse([inset, inset, size * oversample - inset, size * oversample - inset], fill=rgba)
    return big.reduce(oversample)


class Canvas:
    """A white picture of ``figsize`` inches at ``dpi``; positions in pixels from the top left."""

    def __init__(self, figsize: tuple[float, float], dpi: int):
        self.dpi = dpi
        self.width, self.height = round(figsize[0] * dpi), round(figsize[1] * dpi)
        self.image = Image.new("RGB", (self.width, self.height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def px(self, points: float) -> float:
        """Typographic points in pixels."""
        return points * self.dpi / 72

    def font(self, points: float) -> ImageFont.FreeTypeFont:
        return _font(max(1, round(self.px(points))))

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        """Figure fractions (matplotlib's convention, origin bottom left) as a pixel box."""
        return (left * self.width, (1 - top) * self.height, right * self.width, (1 - bottom) * self.height)

    def grid(self, nrows: int, ncols: int, left: float, right: float, bottom: float, top: float,
             wspace: float = 0.2, hspace: float = 0.2) -> list[tuple[float, float, float, float]]:
        """Pixel boxes of an ``nrows`` × ``ncols`` grid, row by row, spaced as
        ``Figure.subplots_adjust`` spaces them (``wspace``/``hspace``: fractions of a cell)."""
        cell_w = (right - left) / (ncols + wspace * (ncols - 1))
        cell_h = (top - bottom) / (nrows + hspace * (nrows - 1))
        boxes = []
        for row in range(nrows):
            for col in range(ncols):
                x0 = left + col * cell_w * (1 + wspace)
                y1 = top - row * cell_h * (1 + hspace)
                boxes.append(self.box(x0, y1 - cell_h, x0 + cell_w, y1))
        return boxes

    def text(self, xy: tuple[float, float], text: str, points: float, anchor: str = "mm",
             fill="black", rotate: bool = False) -> None:
        """``text`` (lines stacked downwards from ``xy``) anchored as Pillow anchors, on whole
        pixels; ``rotate``: one line turned 90° counter-clockwise, centred on ``xy``."""
        size_px = max(1, round(self.px(points)))
        line_height = self.px(points) * 1.25
        for n, line in enumerate([text] if rotate else text.split("\n")):
            if line:
                coverage, dx, dy = _text_coverage(size_px, line, anchor, rotate)
                self.image.paste(fill, (round(xy[0]) + dx, round(xy[1] + n * line_height) + dy), coverage)

    def title(self, box: tuple[float, float, float, float], text: str, points: float) -> None:
        """``text`` centred above ``box`` (its last line 6 pt above the box's top)."""
        lines = text.count("\n")
        y = box[1] - self.px(6) - lines * self.px(points) * 1.25
        self.text(((box[0] + box[2]) / 2, y), text, points, anchor="md")

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", compress_level=PNG_COMPRESSION, compress_type=PNG_STRATEGY)
        return buffer.getvalue()


@dataclass
class Axes:
    """A plot area of ``canvas`` (pixel box) showing ``xlim`` × ``ylim`` in data units."""

    canvas: Canvas
    box: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @classmethod
    def equal(cls, canvas: Canvas, box, xlim, ylim) -> Axes:
        """Axes whose box shrinks (centred) so that one data unit is as long along x as along y."""
        x0, y0, x1, y1 = box
        dx, dy = xlim[1] - xlim[0], ylim[1] - ylim[0]
        if dx > 0 and dy > 0:
            w, h = x1 - x0, y1 - y0
            if dx / dy > w / h:
                h2 = w * dy / dx
                y0, y1 = y0 + (h - h2) / 2, y0 + (h + h2) / 2
            else:
                w2 = h * dx / dy
                x0, x1 = x0 + (w - w2) / 2, x0 + (w + w2) / 2
        return cls(canvas, (x0, y0, x1, y1), xlim, ylim)

    def to_px(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = self.box
        sx = (x1 - x0) / ((self.xlim[1] - self.xlim[0]) or 1.0)
        sy = (y1 - y0) / ((self.ylim[1] - self.ylim[0]) or 1.0)
        return (x0 + (np.asarray(x, float) - self.xlim[0]) * sx,
                y1 - (np.asarray(y, float) - self.ylim[0]) * sy)

    def image(self, rgba: np.ndarray, extent: tuple[float, float, float, float]) -> None:
        """An RGBA uint8 array (rows top down) covering ``extent`` (west, east, south, north),
        nearest-neighbour resampled to the pixels it covers, clipped to the box; transparent
        pixels leave the background."""
        (px0, px1), (py1, py0) = (np.round(v) for v in self.to_px(extent[:2], extent[2:]))
        width, height = int(px1 - px0), int(py1 - py0)
        if width < 1 or height < 1:
            return
        picture = Image.fromarray(rgba, "RGBA").resize((width, height), Image.Resampling.NEAREST)
        bx0, by0, bx1, by1 = (round(v) for v in self.box)
        crop = (max(bx0 - px0, 0), max(by0 - py0, 0), min(bx1 - px0, width), min(by1 - py0, height))
        if crop[0] >= crop[2] or crop[1] >= crop[3]:
            return
        piece = picture.crop(tuple(int(v) for v in crop))
        self.canvas.image.paste(piece, (int(px0 + crop[0]), int(py0 + crop[1])), piece)

    def _layer(self) -> tuple[Image.Image, ImageDraw.ImageDraw, tuple[int, int]]:
        """A transparent layer over the box (marks drawn on it are clipped to the box)."""
        x0, y0, x1, y1 = (round(v) for v in self.box)
        layer = Image.new("RGBA", (x1 - x0 + 1, y1 - y0 + 1), (0, 0, 0, 0))
        return layer, ImageDraw.Draw(layer), (x0, y0)

    def _blend(self, layer: Image.Image, origin: tuple[int, int]) -> None:
        self.canvas.image.paste(layer, origin, layer)

    def line(self, x, y, color, width_pt: float, dashes: tuple[float, float] | None = None,
             oversample: int = 1) -> None:
        """A polyline in data units (``dashes``: on/off lengths in points), clipped to the box;
        ``oversample`` > 1 draws its coverage that many times larger and reduces it (anti-aliased
        edges)."""
        x0, y0, x1, y1 = (round(v) for v in self.box)
        coverage = Image.new("L", ((x1 - x0 + 1) * oversample, (y1 - y0 + 1) * oversample), 0)
        draw = ImageDraw.Draw(coverage)
        xs, ys = self.to_px(x, y)
        width = max(1, round(self.canvas.px(width_pt) * oversample))
        points = list(zip(((xs - x0) * oversample).tolist(), ((ys - y0) * oversample).tolist()))
        if dashes is None:
            draw.line(points, fill=255, width=width)
        else:
            on, off = (self.canvas.px(d) * oversample for d in dashes)
            for (ax, ay), (bx, by) in zip(points, points[1:]):
                length = math.hypot(bx - ax, by - ay)
                start = 0.0
                while start < length:
                    end = min(start + on, length)
                    draw.line([(ax + (bx - ax) * start / length, ay + (by - ay) * start / length),
                               (ax + (bx - ax) * end / length, ay + (by - ay) * end / length)],
                              fill=255, width=width)
                    start = end + off
        if oversample > 1:
            coverage = coverage.reduce(oversample)
        self.canvas.image.paste(color, (x0, y0, x0 + coverage.width, y0 + coverage.height), coverage)

    def markers(self, x, y, color: tuple[int, int, int], diameter_pt: float, alpha: float) -> None:
        """Filled, anti-aliased discs at the data points, ``alpha`` opaque, clipped to the box."""
        layer, _, (ox, oy) = self._layer()
        sprite = _disc(self.canvas.px(diameter_pt), (*color, round(255 * alpha)))
        xs, ys = self.to_px(x, y)
        half = sprite.width / 2
        for px, py in zip((xs - ox).tolist(), (ys - oy).tolist()):
            left, top = round(px - half), round(py - half)
            if left >= 0 and top >= 0:
                layer.alpha_composite(sprite, (left, top))
        self._blend(layer, (ox, oy))

    def frame(self, xticks: Sequence[float], yticks: Sequence[float], points: float,
              xlabels: Sequence[str] | None = None, grid: bool = False) -> None:
        """Box, tick marks and labels (and light grid lines with ``grid``)."""
        draw, x0, y0, x1, y1 = self.canvas.draw, *self.box
        tick = self.canvas.px(3.5)
        xs, _ = self.to_px(xticks, np.zeros(len(xticks)))
        _, ys = self.to_px(np.zeros(len(yticks)), yticks)
        if grid:
            for x in xs:
                draw.line([(x, y0), (x, y1)], fill=GRID)
            for y in ys:
                draw.line([(x0, y), (x1, y)], fill=GRID)
        draw.rectangle([x0, y0, x1, y1], outline="black")
        labels = xlabels if xlabels is not None else [tick_label(v, xticks) for v in xticks]
        for x, label in zip(xs, labels):
            draw.line([(x, y1), (x, y1 + tick)], fill="black")
            self.canvas.text((x, y1 + tick + 2), label, points, anchor="ma")
        for y, value in zip(ys, yticks):
            draw.line([(x0 - tick, y), (x0, y)], fill="black")
            self.canvas.text((x0 - tick - 2, y), tick_label(value, yticks), points, anchor="rm")


def colormapped(values: np.ndarray, cmap: str) -> tuple[np.ndarray, float, float]:
    """``values`` through ``cmap`` scaled to their finite range (NaN transparent), with that range."""
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = (values - lo) / (hi - lo) if hi > lo else values * 0.0  # NaN stays NaN
    return _colormap(cmap)(np.ma.masked_invalid(scaled), bytes=True), lo, hi


def colorbar(canvas: Canvas, box: tuple[float, float, float, float], cmap: str, lo: float, hi: float,
             label: str | None, points: float) -> None:
    """A vertical colour scale in ``box`` with about four labelled ticks and ``label`` beside them."""
    x0, y0, x1, y1 = (round(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return
    ramp = _colormap(cmap)(np.linspace(1, 0, y1 - y0), bytes=True)[:, np.newaxis, :3]
    canvas.image.paste(Image.fromarray(np.repeat(ramp, x1 - x0, axis=1), "RGB"), (x0, y0))
    canvas.draw.rectangle([x0, y0, x1, y1], outline="black")
    ticks = nice_ticks(lo, hi, 4)
    widest = 0.0
    for value in ticks:
        y = y1 - (value - lo) / ((hi - lo) or 1.0) * (y1 - y0)
        canvas.draw.line([(x1, y), (x1 + canvas.px(3.5), y)], fill="black")
        text = tick_label(value, ticks)
        canvas.text((x1 + canvas.px(5), y), text, points, anchor="lm")
        widest = max(widest, canvas.font(points).getlength(text))
    if label:
        canvas.text((x1 + canvas.px(8) + widest + canvas.px(points) / 2, (y0 + y1) / 2), label,
                    points + 1, rotate=True)


def date_ticks(start: float, end: float) -> tuple[list[float], list[str]]:
    """Round dates within [start, end] (matplotlib date numbers) and their labels."""
    if not end > start:
        return [], []
    ticks = [t for t in AutoDateLocator(minticks=3, maxticks=7).tick_values(num2date(start), num2date(end))
             if start <= t <= end]
    span_days = end - start
    fmt = "%Y-%m" if span_days > 120 else "%Y-%m-%d" if span_days > 2 else "%m-%d %H:%M"
    return ticks, [num2date(t).strftime(fmt) for t in ticks]


def as_date_numbers(times: Sequence[datetime] | np.ndarray) -> np.ndarray:
    return np.asarray(date2num(times), dtype=float)
