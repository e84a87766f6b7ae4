"""Plume and scene selection with the API's filter semantics (spec §3.2), vectorized.

Choices where the spec is silent:

* Visibility: a plume exists from ``published_at <= now``; ``source_name`` matches plumes
  attributed to that source and already clustered (``clustered_at <= now``).
* ``emission_min`` / ``emission_max`` are inclusive and never match null or hidden emissions.
* ``status``: ``published``, ``not_deleted`` and ``valid`` match every public record; any other
  status matches nothing. ``has_phme=True`` matches nothing (no record is a PHME candidate).
* ``sectors``: ``NULL`` matches nothing (every plume has a sector; undetermined is ``NA``).
* ``search``: case-insensitive substring of the colloquial ``plume_id``.
* ``bbox`` / ``intersects`` test the plume origin (``geometry_json``).
* Sorts: ``desc``/``asc`` by ``scene_timestamp`` (ties by ``plume_id``); emission sorts put
  nulls last; ``published_*`` sort by ``published_at``; ties keep the time order.
* Scenes are visible from their first plume's publication or their L2B publication, whichever
  comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import shapely

from cm_assets.replica.world import World

SORTS = ("asc", "desc", "emissions_desc", "emissions_asc", "published_desc", "published_asc")
PUBLIC_STATUSES = frozenset({"published", "not_deleted", "valid"})
Interval = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class PlumeQuery:
    """The plume filter set; ``None`` means "no filter"."""

    plume_ids: tuple[str, ...] | None = None
    plume_names: tuple[str, ...] | None = None
    scene_name: str | None = None
    scene_id: str | None = None
    scene_ids: tuple[str, ...] | None = None
    source_name: str | None = None
    search: str | None = None
    emission_min: float | None = None
    emission_max: float | None = None
    sectors: tuple[str, ...] | None = None
    plume_gas: str | None = None
    instruments: tuple[str, ...] | None = None
    qualities: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    intersects: shapely.Geometry | None = None
    observed: Interval | None = None
    published: Interval | None = None
    modified: Interval | None = None
    status: str | None = None
    has_phme: bool | None = None
    sort: str = "desc"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, got {self.sort!r}")


def to_ns(moment: datetime | pd.Timestamp) -> int:
    """UTC nanoseconds of a datetime (naive values are taken as UTC)."""
    ts = pd.Timestamp(moment)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def _in_interval(values: np.ndarray, interval: Interval) -> np.ndarray:
    start, end = interval
    mask = np.ones(len(values), bool)
    if start is not None:
        mask &= values >= to_ns(start)
    if end is not None:
        mask &= values <= to_ns(end)
    return mask


def _rows_of(world: World, keys: tuple[str, ...], lookup) -> np.ndarray:
    rows = [lookup(k) for k in keys]
    return np.array([r for r in rows if r is not None], dtype=int)


def plume_mask(world: World, q: PlumeQuery, now: datetime) -> np.ndarray:
    """Boolean mask over plume rows matching ``q`` and visible at ``now``."""
    a = world.arrays()
    now_ns = to_ns(now)
    mask = a["published"] <= now_ns
    if q.status is not None and q.status not in PUBLIC_STATUSES:
        mask[:] = False
    if q.has_phme:
        mask[:] = False
    for keys in (q.plume_ids, q.plume_names):
        if keys is not None:
            allowed = np.zeros(len(mask), bool)
            allowed[_rows_of(world, keys, world.plume_index)] = True
            mask &= allowed
    scene_keys = [k for k in (q.scene_name, q.scene_id) if k is not None] + list(q.scene_ids or ())
    if q.scene_name is not None or q.scene_id is not None or q.scene_ids is not None:
        scene_rows = [world.scene_index(k) for k in scene_keys]
        mask &= np.isin(a["scene_idx"], [s for s in scene_rows if s is not None])
    if q.source_name is not None:
        k = world.source_index(q.source_name.split("?", 1)[0])
        mask &= (a["source_idx"] == (-2 if k is None else k)) & (a["clustered"] <= now_ns)
    if q.search:
        needle = q.search.lower()
        mask &= np.fromiter((needle in p.lower() for p in a["plume_id"]), bool, len(mask))
    if q.emission_min is not None:
        mask &= a["emission"] >= q.emission_min
    if q.emission_max is not None:
        mask &= a["emission"] <= q.emission_max
    if q.sectors is not None:
        mask &= np.isin(a["sector"], list(q.sectors))
    if q.plume_gas is not None:
        mask &= a["gas"] == q.plume_gas
    if q.instruments is not None:
        mask &= np.isin(a["instrument"], list(q.instruments))
    if q.qualities is not None:
        mask &= np.isin(a["quality"], list(q.qualities))
    if q.bbox is not None:
        w, s, e, n = q.bbox
        mask &= (a["lon"] >= w) & (a["lon"] <= e) & (a["lat"] >= s) & (a["lat"] <= n)
    if q.intersects is not None:
        candidates = np.nonzero(mask)[0]
        shapely.prepare(q.intersects)
        hit = shapely.intersects_xy(q.intersects, a["lon"][candidates], a["lat"][candidates])
        mask[candidates[~hit]] = False
    for interval, column in ((q.observed, "ts"), (q.published, "published"), (q.modified, "modified")):
        if interval is not None:
            mask &= _in_interval(a[column], interval)
    return mask


def select_plumes(world: World, q: PlumeQuery, now: datetime) -> np.ndarray:
    """Row ids of the plumes matching ``q`` at ``now``, in ``q.sort`` order."""
    a = world.arrays()
    mask = plume_mask(world, q, now)
    order = a["order_asc"]
    rows = order[mask[order]]
    if q.sort == "asc":
        return rows
    if q.sort == "desc":
        return rows[::-1]
    if q.sort.startswith("emissions"):
        value = a["emission"][rows]
        key = np.where(np.isnan(value), np.inf, value if q.sort == "emissions_asc" else -value)
    else:
        value = a["published"][rows]
        key = value if q.sort == "published_asc" else -value
    return rows[np.argsort(key, kind="stable")]


def select_scenes(
    world: World,
    bbox: tuple[float, float, float, float] | None,
    observed: Interval | None,
    instruments: tuple[str, ...] | None,
    gas: str | None,
    now: datetime,
) -> np.ndarray:
    """Row ids of scenes visible at ``now`` matching the filters, oldest first."""
    a = world.arrays()
    mask = a["scene_visible"] <= to_ns(now)
    if bbox is not None:
        w, s, e, n = bbox
        b = a["scene_bounds"]
        mask &= (b[:, 0] <= e) & (b[:, 2] >= w) & (b[:, 1] <= n) & (b[:, 3] >= s)
    if observed is not None:
        mask &= _in_interval(a["scene_ts"], observed)
    if instruments is not None:
        mask &= np.isin(a["scene_instrument"], list(instruments))
    if gas == "CO2":
        mask &= a["scene_has_co2"]
    rows = np.nonzero(mask)[0]
    return rows[np.argsort(a["scene_ts"][rows], kind="stable")]
