"""Retrieval background and nodata of a scene: correlated noise, footprint, ragged edges,
failed columns and artifact flags.

* ``background_noise``: spatially correlated background (Gaussian-filtered white noise, 1.5-3 px),
  white noise, weak per-column striping and a slow bias; its std ``sigma`` is per instrument and
  gas (CH4: Tanager ~55, EMIT ~95, airborne ~30 ppm·m; CO2 in thousands of ppm·m), ±20 % per scene.
* Nodata (L2B ``-9999``): pixels outside the scene footprint, a 0-6 px ragged strip along the
  left and right swath edges, and 0-3 failed detector columns (spec §8.3 v3d) never within 60 px
  of a plume origin column, so no L3A window of a plume crosses one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask

from cm_assets.replica.grid import FEATURES_LOCK, Grid

FAILED_COLUMN_CLEARANCE = 60  # px between a failed column and any plume origin column
NOISE_PPMM = {
    "CH4": {"tan": 55.0, "emi": 95.0, "av3": 30.0, "ang": 35.0, "GAO": 30.0},
    "CO2": {"tan": 9000.0, "emi": 14000.0, "av3": 6000.0, "ang": 6000.0, "GAO": 6000.0},
}


def correlated_noise(rng: np.random.Generator, shape: tuple[int, int], length_px: float) -> np.ndarray:
    """Unit-std Gaussian random field with a Gaussian correlation of ``length_px`` pixels."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    kernel = np.exp(-2.0 * (math.pi * length_px) ** 2 * (fx ** 2 + fy ** 2))
    smooth = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=shape)
    return (smooth - smooth.mean()) / smooth.std()


def noise_sigma(gas: str, instrument: str, rng: np.random.Generator) -> float:
    """Per-scene retrieval noise std (ppm·m)."""
    return NOISE_PPMM[gas][instrument] * float(rng.uniform(0.8, 1.2))


def background_noise(grid: Grid, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Retrieval background: correlated + white noise, column striping and a slow bias."""
    shape = grid.shape
    fine = correlated_noise(rng, shape, float(rng.uniform(1.5, 3.0)))
    white = rng.standard_normal(shape)
    stripes = rng.standard_normal(shape[1])[None, :]
    slow = correlated_noise(rng, shape, 60.0)
    return sigma * (0.8 * fine + 0.6 * white + 0.15 * stripes + 0.2 * slow)


def footprint_valid(grid: Grid, footprint_wkt: str) -> np.ndarray:
    """True where a pixel centre lies inside the lon/lat footprint."""
    to_utm = Transformer.from_crs(4326, grid.epsg, always_xy=True)
    polygon = shapely.transform(shapely.from_wkt(footprint_wkt), lambda xy: np.column_stack(
        to_utm.transform(xy[:, 0], xy[:, 1])))
    with FEATURES_LOCK:
        return geometry_mask([polygon], out_shape=grid.shape, transform=grid.transform, invert=True)


def ragged_edges(grid: Grid, seed: int) -> np.ndarray:
    """False on a 0-6 px ragged strip along the left and right swath edges."""
    rng = np.random.default_rng(seed)
    rows = np.arange(grid.height)
    phase = rng.uniform(0, 2 * math.pi, 2)
    period = rng.uniform(40, 160, 2)
    left = np.rint(3 + 3 * np.sin(2 * math.pi * rows / period[0] + phase[0])).astype(int)
    right = np.rint(3 + 3 * np.sin(2 * math.pi * rows / period[1] + phase[1])).astype(int)
    cols = np.arange(grid.width)[None, :]
    return (cols >= left[:, None]) & (cols < grid.width - right[:, None])


def failed_columns(width: int, keep_clear: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """0-3 detector columns whose retrieval failed, away from plume origin columns."""
    cols = np.arange(width)
    allowed = np.ones(width, dtype=bool)
    for c in keep_clear:
        allowed &= np.abs(cols - c) > FAILED_COLUMN_CLEARANCE
    candidates = cols[allowed]
    n = min(int(rng.integers(0, 4)), candidates.size)
    return np.sort(rng.choice(candidates, size=n, replace=False)) if n else np.empty(0, dtype=int)


def artifact_mask(grid: Grid, seed: int) -> np.ndarray:
    """0/1 artifact flags: a few along-track streaks and blobs (about 1-5 % of the scene)."""
    rng = np.random.default_rng(seed)
    h, w = grid.shape
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        c = rng.uniform(0, w)
        slope = rng.uniform(-0.05, 0.05)
        mask |= np.abs(cols - (c + slope * rows)) < rng.uniform(0.5, 2.5)
    for _ in range(int(rng.integers(2, 7))):
        r, c, radius = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.02, 0.06) * min(h, w)
        mask |= (rows - r) ** 2 + (cols - c) ** 2 < radius ** 2
    return mask.astype("uint8")
