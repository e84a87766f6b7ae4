"""DBSCAN with ``minpoints = 1`` (connected components within ``eps``) by grid hashing.

Points are projected to a local equirectangular plane (metres). With a cell side of
``eps / sqrt(2)`` every two points of one cell are within ``eps``, so a cell is connected by
construction; only cells up to two apart need point-pair tests. Components are merged with
vectorized label propagation plus pointer jumping (a union-find without Python loops).
"""

from __future__ import annotations

import numpy as np

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
_OFF = 1 << 30
_MAX_PAIRS = 4_000_000
_OFFSETS = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if (dx, dy) > (0, 0)]


def local_metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres, accurate for the short distances compared here."""
    x = np.asarray(lon, float) * M_PER_DEG_LON_EQUATOR * np.cos(np.radians(np.asarray(lat, float)))
    return x, np.asarray(lat, float) * M_PER_DEG_LAT


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest-member label of each node's connected component for edges (a, b)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new


def _close_cell_pairs(
    ca: np.ndarray, cb: np.ndarray, start: np.ndarray, count: np.ndarray,
    x: np.ndarray, y: np.ndarray, eps: float,
) -> np.ndarray:
    """Mask of cell pairs (ca, cb) holding at least one point pair within ``eps``."""
    sizes = count[ca] * count[cb]
    cum = np.cumsum(sizes)
    close = np.zeros(len(ca), bool)
    lo = 0
    while lo < len(ca):
        done = cum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cum, done + _MAX_PAIRS, side="right")), lo + 1)
        part = np.arange(lo, hi)
        idx = np.repeat(part, sizes[part])
        within = np.arange(len(idx)) - np.repeat(cum[part] - sizes[part] - done, sizes[part])
        nb = count[cb[idx]]
        pa = start[ca[idx]] + within // nb
        pb = start[cb[idx]] + within % nb
        hit = (x[pa] - x[pb]) ** 2 + (y[pa] - y[pb]) ** 2 <= eps * eps
        close[idx[hit]] = True
        lo = hi
    return close


def dbscan_min1(lon: np.ndarray, lat: np.ndarray, eps_m: float) -> np.ndarray:
    """Cluster label (0..k-1, in order of first appearance) of each point."""
    n = len(lon)
    if n == 0:
        return np.zeros(0, int)
    x, y = local_metres(lon, lat)
    side = eps_m / np.sqrt(2.0)
    cx = np.floor(x / side).astype(np.int64)
    cy = np.floor(y / side).astype(np.int64)
    keys = (cx + _OFF) * (1 << 32) + (cy + _OFF)
    cell_keys, cell_of = np.unique(keys, return_inverse=True)
    order = np.argsort(cell_of, kind="stable")
    xs, ys = x[order], y[order]
    count = np.bincount(cell_of, minlength=len(cell_keys))
    start = np.cumsum(count) - count
    ucx = cell_keys // (1 << 32) - _OFF
    ucy = cell_keys % (1 << 32) - _OFF
    edges_a, edges_b = [], []
    for dx, dy in _OFFSETS:
        target = (ucx + dx + _OFF) * (1 << 32) + (ucy + dy + _OFF)
        pos = np.searchsorted(cell_keys, target)
        pos = np.minimum(pos, len(cell_keys) - 1)
        found = cell_keys[pos] == target
        ca, cb = np.nonzero(found)[0], pos[found]
        close = _close_cell_pairs(ca, cb, start, count, xs, ys, eps_m)
        edges_a.append(ca[close])
        edges_b.append(cb[close])
    cell_label = _components(len(cell_keys), np.concatenate(edges_a), np.concatenate(edges_b))
    point_label = cell_label[cell_of]
    _, first, dense = np.unique(point_label, return_index=True, return_inverse=True)
    rank = np.empty(len(first), int)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[dense]
