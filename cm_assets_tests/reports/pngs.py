"""Checks that a file is a real PNG picture of the expected size with drawn content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import image as mpimg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return mpimg.imread(path, format="png")


def assert_figure(path: Path, size: tuple[int, int], outline: bool = True) -> None:
    """``size`` (width, height) in pixels; many distinct colours (rasters, not an empty canvas);
    with ``outline``, red outline strokes drawn over them."""
    pixels = load_png(path)
    height, width = pixels.shape[:2]
    assert (width, height) == size, f"{path.name}: {width}x{height}, expected {size[0]}x{size[1]}"
    rgb = (pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = len(np.unique(rgb, axis=0))
    assert colours > 500, f"{path.name}: only {colours} colours"
    if outline:
        red = (rgb[:, 0] > 200) & (rgb[:, 1] < 60) & (rgb[:, 2] < 60)
        assert red.sum() > 50, f"{path.name}: no outline drawn"


def assert_timeline(path: Path, size: tuple[int, int], series: int) -> None:
    """``size`` (width, height) in pixels; the markers of ``series`` instruments drawn, each in its
    own colour of the tab10 cycle at 75 % opacity over white."""
    from matplotlib import colormaps

    pixels = load_png(path)
    height, width = pixels.shape[:2]
    assert (width, height) == size, f"{path.name}: {width}x{height}, expected {size[0]}x{size[1]}"
    rgb = (pixels[..., :3] * 255).astype(np.int16).reshape(-1, 3)
    drawn = []
    for colour in colormaps["tab10"].colors:
        blended = 0.75 * np.asarray(colour) * 255 + 0.25 * 255
        drawn.append(int((np.abs(rgb - blended).max(axis=1) <= 6).sum()))
    assert all(count >= 10 for count in drawn[:series]), f"{path.name}: marker pixels per colour {drawn}"
    if series < 7:  # the next colour is unused (the 8th, grey, also matches anti-aliased text)
        assert drawn[series] < 10, f"{path.name}: marker pixels per colour {drawn}"
