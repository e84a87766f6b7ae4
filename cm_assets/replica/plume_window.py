"""A plume's L3A image window in its scene grid and the lon/lat bounds the API reports for it.

``plume_bounds`` is the lon/lat extent of the plume image window (``plume_window``): 101 rows x
100 columns of scene pixels around the origin pixel, as the L3A rasters are cut.
"""

from __future__ import annotations

from functools import lru_cache
from weakref import WeakKeyDictionary

import numpy as np
from pyproj import Transformer

from cm_assets.replica.world import World

PLUME_WINDOW_SHAPE = (101, 100)  # rows, cols
PLUME_WINDOW_CENTER = (50, 50)  # origin pixel inside the window
_BOUNDS: WeakKeyDictionary[World, np.ndarray] = WeakKeyDictionary()


@lru_cache(maxsize=128)
def _to_lonlat(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def plume_window(world: World, i: int) -> tuple[int, int, int, int]:
    """(col0, row0, ncols, nrows) of plume ``i``'s L3A image window in its scene grid.

    101 rows x 100 columns with the origin pixel at (50, 50), not clipped to the scene (spec
    §8.4 shape; the same window the raster generator uses).
    """
    p, s = world.columns()
    j = int(p["scene_idx"][i])
    col = int(np.floor((p["x"][i] - s["x0"][j]) / s["gsd"][j]))
    row = int(np.floor((s["y0"][j] - p["y"][i]) / s["gsd"][j]))
    return col - PLUME_WINDOW_CENTER[1], row - PLUME_WINDOW_CENTER[0], PLUME_WINDOW_SHAPE[1], PLUME_WINDOW_SHAPE[0]


def _all_bounds(world: World) -> np.ndarray:
    """(n, 4) lon/lat extents of every plume's window, computed once per world."""
    cached = _BOUNDS.get(world)
    if cached is not None:
        return cached
    p, s = world.columns()
    j = p["scene_idx"]
    gsd, x0, y0 = s["gsd"][j], s["x0"][j], s["y0"][j]
    col0 = np.floor((p["x"] - x0) / gsd) - PLUME_WINDOW_CENTER[1]
    row0 = np.floor((y0 - p["y"]) / gsd) - PLUME_WINDOW_CENTER[0]
    cols = col0[:, None] + np.array([0, PLUME_WINDOW_SHAPE[1], PLUME_WINDOW_SHAPE[1], 0])
    rows = row0[:, None] + np.array([0, 0, PLUME_WINDOW_SHAPE[0], PLUME_WINDOW_SHAPE[0]])
    x = x0[:, None] + cols * gsd[:, None]
    y = y0[:, None] - rows * gsd[:, None]
    lon, lat = np.empty_like(x), np.empty_like(y)
    epsg = s["epsg"][j]
    for code in np.unique(epsg):
        m = epsg == code
        lon[m], lat[m] = _to_lonlat(int(code)).transform(x[m], y[m])
    out = np.round(np.stack([lon.min(1), lat.min(1), lon.max(1), lat.max(1)], axis=1), 7)
    _BOUNDS[world] = out
    return out


def plume_bounds(world: World, i: int) -> list[float]:
    """[W, S, E, N] lon/lat extent of plume ``i``'s image window."""
    return _all_bounds(world)[i].tolist()
