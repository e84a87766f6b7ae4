"""Source statistics: ``sources.geojson`` features, PlumeSource details, a plume's source.

* Source statistics count visible, clustered plumes that match the query. ``persistence`` =
  detection days / observation days, where observation days are the UTC days of scenes covering
  the source that are visible at ``now`` (plus detection scenes). The site ``emission_auto`` is
  ``persistence * mean(emission_auto)`` over the detections with a public emission (this
  reproduces the spec's sample: 1007.66 kg/h x 1/21 = 47.98 kg/h); its uncertainty is
  ``persistence * sqrt(sum sigma^2) / n``.
* The stray-suffix quirk (§5.2) hits features whose CRC32 of the name is 0 mod 20 (~5 %); the
  suffix echoes ``plume_gas`` (the feature's gas when the query had none), ``bbox`` and
  ``status`` of the query.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from urllib.parse import urlencode

import numpy as np

from cm_assets.replica.plume_records import AssetUrl, plume_record
from cm_assets.replica.query import PlumeQuery, plume_mask, to_ns
from cm_assets.replica.timestamps import iso, iso_many, utc_day
from cm_assets.replica.world import World

_DAY_NS = 86_400 * 1_000_000_000


def _source_stats(world: World, k: int, rows: np.ndarray, now_ns: int) -> dict:
    """Aggregates of source ``k`` over its plume rows ``rows`` (visible, clustered, matching)."""
    p, s = world.columns()
    a = world.arrays()
    rows = rows[np.argsort(a["ts"][rows], kind="stable")]
    det_scenes = np.unique(a["scene_idx"][rows])
    cover = world.source_scenes(k)
    cover = cover[a["scene_visible"][cover] <= now_ns]
    obs_scenes = np.union1d(cover, det_scenes)
    obs_scenes = obs_scenes[np.argsort(a["scene_ts"][obs_scenes], kind="stable")]
    obs_days = sorted({utc_day(t) for t in a["scene_ts"][obs_scenes]})
    det_days = sorted({utc_day(t) for t in a["scene_ts"][det_scenes]})
    persistence = len(det_days) / len(obs_days)
    emission = a["emission"][rows]
    sigma = np.where(p["hide_emission"][rows].astype(bool), np.nan, p["emission_uncertainty_auto"][rows].astype(float))
    known = np.isfinite(emission)
    if known.any():
        site = persistence * float(emission[known].mean())
        site_sigma = persistence * float(np.sqrt(np.nansum(sigma[known] ** 2))) / int(known.sum())
    else:
        site = site_sigma = None
    return {
        "rows": rows, "obs_scenes": obs_scenes, "obs_days": obs_days, "det_days": det_days,
        "persistence": persistence, "emission_auto": site, "emission_uncertainty_auto": site_sigma,
    }


def _suffix(name: str, gas: str, q: PlumeQuery) -> str:
    if zlib.crc32(name.encode()) % 20:
        return ""
    params: list[tuple[str, str]] = [("plume_gas", q.plume_gas or gas)]
    if q.bbox is not None:
        params += [("bbox", str(v)) for v in q.bbox]
    if q.status is not None:
        params.append(("status", q.status))
    return "?" + urlencode(params)


def _segments(keys: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Start offsets (len(groups) + 1) of each group's run in the sorted ``keys``."""
    return np.searchsorted(keys, np.append(groups, groups[-1] + 1 if len(groups) else 0))


def _unique_pairs(group: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (group, value) pairs of non-negative integers."""
    span = int(value.max(initial=0)) + 1
    key = np.sort(group.astype(np.int64) * span + value)
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key
    return key // span, key % span


def source_features(world: World, q: PlumeQuery, now: datetime) -> list[dict]:
    """``sources.geojson`` features (spec §4.6) for plumes matching ``q`` at ``now``."""
    now_ns = to_ns(now)
    a = world.arrays()
    _, s = world.columns()
    mask = plume_mask(world, q, now) & (a["source_idx"] >= 0) & (a["clustered"] <= now_ns)
    rows = np.nonzero(mask)[0]
    src = a["source_idx"][rows]
    order = np.lexsort((a["ts"][rows], src))
    rows, src = rows[order], src[order]
    if not len(src):
        return []
    groups = src[np.concatenate([[True], src[1:] != src[:-1]])]
    row_cut = _segments(src, groups)
    det_src, det_scene = _unique_pairs(src, a["scene_idx"][rows])
    ptr = world.source_scene_ptr
    counts = ptr[groups + 1] - ptr[groups]
    cov_src = np.repeat(groups, counts)
    cov_scene = world.source_scene_idx[np.repeat(ptr[groups] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]
    visible = a["scene_visible"][cov_scene] <= now_ns
    obs_src, obs_scene = _unique_pairs(np.concatenate([cov_src[visible], det_src]), np.concatenate([cov_scene[visible], det_scene]))
    obs_cut = _segments(obs_src, groups)
    day = a["scene_ts"] // _DAY_NS
    obs_days = np.diff(_segments(_unique_pairs(obs_src, day[obs_scene])[0], groups))
    det_days = np.diff(_segments(_unique_pairs(det_src, day[det_scene])[0], groups))
    persistence = det_days / obs_days
    position = np.repeat(np.arange(len(groups)), np.diff(row_cut))
    emission = a["emission"][rows]
    known = np.isfinite(emission)
    sigma = np.where(known, world.columns()[0]["emission_uncertainty_auto"][rows].astype(float), 0.0)
    n_known = np.bincount(position[known], minlength=len(groups))
    mean = np.bincount(position[known], weights=emission[known], minlength=len(groups)) / np.maximum(n_known, 1)
    root = np.sqrt(np.bincount(position, weights=np.nan_to_num(sigma) ** 2, minlength=len(groups)))
    site = persistence * mean
    site_sigma = persistence * root / np.maximum(n_known, 1)
    ts_min = iso_many(np.minimum.reduceat(a["ts"][rows], row_cut[:-1]), seconds_only=True)
    ts_max = iso_many(np.maximum.reduceat(a["ts"][rows], row_cut[:-1]), seconds_only=True)
    pub_min = iso_many(np.minimum.reduceat(a["published"][rows], row_cut[:-1]))
    pub_max = iso_many(np.maximum.reduceat(a["published"][rows], row_cut[:-1]))
    src_table = world.sources
    names, gases, sectors = src_table["source_name"].to_numpy(), src_table["gas"].to_numpy(), src_table["sector"].to_numpy()
    lons, lats = src_table["lon"].to_numpy(), src_table["lat"].to_numpy()
    plume_ids, scene_names = a["plume_id"], s["name"]
    features = []
    for g, k in enumerate(groups):
        lon, lat = round(float(lons[k]), 5), round(float(lats[k]), 5)
        name = names[k]
        has_emission = n_known[g] > 0
        features.append(
            {
                "type": "Feature",
                "id": name,
                "bbox": [lon, lat, lon, lat],
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "source_name": name + _suffix(name, gases[k], q),
                    "gas": gases[k],
                    "sector": sectors[k],
                    "plume_count": int(row_cut[g + 1] - row_cut[g]),
                    "plume_ids": plume_ids[rows[row_cut[g] : row_cut[g + 1]]].tolist(),
                    "date_count": int(det_days[g]),
                    "emission_auto": float(site[g]) if has_emission else None,
                    "emission_uncertainty_auto": float(site_sigma[g]) if has_emission else None,
                    "persistence": float(persistence[g]),
                    "timestamp_min": ts_min[g],
                    "timestamp_max": ts_max[g],
                    "published_at_min": pub_min[g],
                    "published_at_max": pub_max[g],
                    "observation_scenes_names": scene_names[obs_scene[obs_cut[g] : obs_cut[g + 1]]].tolist(),
                    "observation_date_count": int(obs_days[g]),
                    "detection_date_count": int(det_days[g]),
                },
            }
        )
    return features


def source_detail(world: World, name: str, now: datetime, asset_url: AssetUrl) -> dict | None:
    """PlumeSource (spec §4.9) of a source by name (a stray ``?...`` suffix is ignored)."""
    k = world.source_index(name.split("?", 1)[0])
    if k is None:
        return None
    now_ns = to_ns(now)
    a = world.arrays()
    _, s = world.columns()
    rows = np.nonzero((a["source_idx"] == k) & (a["published"] <= now_ns) & (a["clustered"] <= now_ns))[0]
    if not len(rows):
        return None
    st = _source_stats(world, k, rows, now_ns)
    src = world.sources.iloc[k]
    lon, lat = round(float(src["lon"]), 5), round(float(src["lat"]), 5)
    return {
        "source_name": src["source_name"],
        "point": {"type": "Point", "coordinates": [lon, lat]},
        "source": {
            "gas": src["gas"], "sector": src["sector"], "persistence": st["persistence"],
            "emission_auto": st["emission_auto"], "emission_uncertainty_auto": st["emission_uncertainty_auto"],
        },
        "plumes": [plume_record(world, int(i), asset_url) for i in st["rows"]],
        "scenes": [
            {"id": s["id"][j], "name": s["name"][j], "timestamp": iso(s["timestamp"][j], True), "instrument": s["instrument"][j]}
            for j in st["obs_scenes"]
        ],
        "observation_dates": st["obs_days"],
        "detection_dates": st["det_days"],
    }


def source_for_plume(world: World, plume_key: str, now: datetime) -> str | None:
    """Canonical name of the source a visible plume is attributed to at ``now``."""
    i = world.plume_index(plume_key)
    if i is None:
        return None
    a = world.arrays()
    now_ns = to_ns(now)
    k = int(a["source_idx"][i])
    if k < 0 or a["published"][i] > now_ns or a["clustered"][i] > now_ns:
        return None
    return str(world.sources.at[k, "source_name"])
