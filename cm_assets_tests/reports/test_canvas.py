"""The pictures' canvas: text drawn from the per-process coverage cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cm_assets.reports import canvas
from cm_assets.reports.canvas import Canvas

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("anchor", ["mm", "ma", "md", "lm", "rm"])
def test_text_draws_the_pixels_pillow_draws_at_whole_pixels(anchor):
    lines = ["emission_auto (kg/h)", "6075400", "ppm·m", "mask (plume.tif alpha)", "100 × 101 px"]
    ours, pillows = Canvas((4, 3), 100), Canvas((4, 3), 100)
    draw, font = ImageDraw.Draw(pillows.image), pillows.font(9)
    for n, line in enumerate(lines * 2):  # the second round is served from the cache
        xy = (60 + 37 * n % 300, 20 + 29 * n)
        ours.text(xy, line, 9, anchor=anchor, fill=(200, 30, 30))
        draw.text(xy, line, font=font, anchor=anchor, fill=(200, 30, 30))
    np.testing.assert_array_equal(np.asarray(ours.image), np.asarray(pillows.image))
    assert (np.asarray(ours.image) != 255).any()


def test_text_stacks_lines_and_rotates_like_before():
    ours = Canvas((3, 2), 100)
    ours.text((150, 40), "first\nsecond", 10, anchor="md")
    ours.text((40, 100), "ppm·m", 8, rotate=True)
    pixels = np.asarray(ours.image.convert("L")) < 128
    rows = np.flatnonzero(pixels[:, 100:200].any(axis=1))
    assert rows.min() < 40 < rows.max()  # the second line hangs below the first's baseline
    ys, xs = np.nonzero(pixels[:, :80])
    assert np.ptp(ys) > np.ptp(xs)  # turned upright: taller than wide, centred on the point
    assert abs(ys.mean() - 100) < 4 and abs(xs.mean() - 40) < 4
    assert canvas._text_coverage.cache_info().currsize >= 3


def test_shared_locators_and_colormaps_give_what_fresh_ones_give():
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    rng = np.random.default_rng(5)
    for lo, span in zip(rng.normal(0, 1e4, 200), rng.lognormal(2, 3, 200)):
        expected = [v for v in MaxNLocator(4).tick_values(lo, lo + span) if lo <= v <= lo + span]
        assert canvas.nice_ticks(lo, lo + span, 4) == expected
    values = rng.normal(size=(40, 30))
    values[3, 4] = np.nan
    for name in ("magma", "viridis", "plasma"):
        fresh = colormaps[name](np.ma.masked_invalid((values - np.nanmin(values)) / np.ptp(values[~np.isnan(values)])),
                                bytes=True)
        ours, lo, hi = canvas.colormapped(values, name)
        np.testing.assert_array_equal(ours, fresh)
        assert ours[3, 4, 3] == 0 and (lo, hi) == (np.nanmin(values), np.nanmax(values))
    assert canvas._colormap("magma") is canvas._colormap("magma")
