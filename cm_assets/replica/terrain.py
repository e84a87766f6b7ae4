"""True colour of a scene's terrain: fields, roads and facility pads (the RGB products)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cm_assets.replica.grid import Grid

_LAND = np.array([
    (196, 178, 132), (92, 122, 62), (64, 94, 52), (165, 134, 98),
    (210, 194, 154), (144, 134, 98), (74, 112, 58), (178, 152, 112),
], dtype="float64")
_ROAD = np.array((122, 119, 113), dtype="float64")
_PAD = {"1B2": ((218, 208, 186), 90.0), "6A": ((128, 118, 102), 450.0), "6B": ((96, 110, 120), 200.0),
        "4B": ((170, 160, 140), 220.0), "1B1a": ((58, 56, 54), 320.0), "1A1": ((190, 190, 188), 160.0)}
_DEFAULT_PAD = ((200, 196, 184), 100.0)


def _hash(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """Vectorised integer hash of (a, b) to uint64."""
    with np.errstate(over="ignore"):
        h = (a.astype("uint64") * np.uint64(0x9E3779B97F4A7C15)) ^ (
            b.astype("uint64") * np.uint64(0xC2B2AE3D27D4EB4F)) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h


@dataclass(frozen=True)
class Site:
    """A surface facility drawn in the RGB: centre pixel (fractional) and sector."""

    row: float
    col: float
    sector: str


def terrain_rgb(grid: Grid, row: int, col: int, height: int, width: int, sites: Sequence[Site],
                seed: int) -> np.ndarray:
    """(3, height, width) uint8 true colour of a scene window: fields, roads and facility pads.

    A pure function of scene pixel coordinates, so a crop equals the same window of the scene.
    """
    rng = np.random.default_rng(seed)
    theta = math.radians(float(rng.uniform(-8.0, 8.0)))
    parcel = float(rng.uniform(350.0, 700.0))
    road_every = int(rng.integers(2, 5))
    palette = _LAND[rng.permutation(len(_LAND))[: int(rng.integers(3, 7))]]
    salt = int(rng.integers(0, 2**62))
    gsd = grid.gsd
    rr = (np.arange(row, row + height) + 0.5)[:, None]
    cc = (np.arange(col, col + width) + 0.5)[None, :]
    xm, ym = cc * gsd, rr * gsd
    u = xm * math.cos(theta) + ym * math.sin(theta)
    v = -xm * math.sin(theta) + ym * math.cos(theta)
    iu = np.floor(u / parcel).astype("int64")
    shift = (_hash(iu, np.zeros_like(iu), salt) % np.uint64(1000)).astype("float64") / 1000.0 * parcel
    iv = np.floor((v + shift) / parcel).astype("int64")
    choice = (_hash(iu, iv, salt) % np.uint64(len(palette))).astype("int64")
    rgb = palette[choice].transpose(2, 0, 1).copy()
    pixel_ids = _hash(np.broadcast_to(rr, u.shape).astype("int64"), np.broadcast_to(cc, u.shape).astype("int64"),
                      salt + 1)
    grain = (pixel_ids % np.uint64(21)).astype("float64") - 10.0
    rgb += grain[None] + 12.0 * np.sin(u / 2300.0 + 1.3)[None] * np.cos(v / 3100.0)[None]
    road_pitch = road_every * parcel
    half_road = max(0.5 * gsd, 5.0)
    roads = (np.abs((u + 0.5 * road_pitch) % road_pitch - 0.5 * road_pitch) < half_road) | (
        np.abs((v + 0.5 * road_pitch) % road_pitch - 0.5 * road_pitch) < half_road)
    blend = min(1.0, 10.0 / gsd)
    rgb = np.where(roads[None], (1 - blend) * rgb + blend * _ROAD[:, None, None], rgb)
    for site in sites:
        colour, side = _PAD.get(site.sector, _DEFAULT_PAD)
        sx, sy = (site.col + 0.5) * gsd, (site.row + 0.5) * gsd
        su = sx * math.cos(theta) + sy * math.sin(theta)
        sv = -sx * math.sin(theta) + sy * math.cos(theta)
        pad = (np.abs(u - su) < 0.5 * side) & (np.abs(v - sv) < 0.5 * side)
        nearest_road = round(su / road_pitch) * road_pitch
        lo, hi = sorted((su, nearest_road))
        track = (np.abs(v - sv) < half_road) & (u >= lo) & (u <= hi)
        rgb = np.where(track[None], (1 - blend) * rgb + blend * _ROAD[:, None, None], rgb)
        rgb = np.where(pad[None], np.asarray(colour, dtype="float64")[:, None, None] + 0.5 * grain[None], rgb)
    return np.clip(np.rint(rgb), 1, 255).astype("uint8")
