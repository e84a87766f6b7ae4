"""API shapes built from world rows: plume records and CSV rows, sources, scenes, STAC.

Choices where the spec is silent (see also ``query``):

* Datetimes are RFC 3339 UTC with a ``Z`` suffix; ``scene_timestamp`` has whole seconds,
  publication times keep microseconds.
* ``plume_bounds`` is the lon/lat extent of the plume image window (``plume_window``): 101 rows
  x 100 columns of scene pixels around the origin pixel, as the L3A rasters are cut.
* A URL field is null when its asset is missing for the plume (``missing_assets``) or its
  family does not exist (legacy ``l3a-ch4-mf-v1`` plumes have no ``con_tif``).
* ``publication_sources`` is ``["Carbon Mapper"]``; ``platform`` uses the web-app labels.
* Source statistics count visible, clustered plumes that match the query. ``persistence`` =
  detection days / observation days, where observation days are the UTC days of scenes covering
  the source that are visible at ``now`` (plus detection scenes). The site ``emission_auto`` is
  ``persistence * mean(emission_auto)`` over the detections with a public emission (this
  reproduces the spec's sample: 1007.66 kg/h x 1/21 = 47.98 kg/h); its uncertainty is
  ``persistence * sqrt(sum sigma^2) / n``.
* The stray-suffix quirk (§5.2) hits features whose CRC32 of the name is 0 mod 20 (~5 %); the
  suffix echoes ``plume_gas`` (the feature's gas when the query had none), ``bbox`` and
  ``status`` of the query.
* STAC asset hrefs use the Bearer proxy form ``{api_base}/catalog/asset/...``;
  ``properties.platform`` is the instrument code (``"tan"``), as seen live.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

import numpy as np
import shapely
from pyproj import Transformer

from cm_assets.replica import versions
from cm_assets.replica.drift import apply_to_record
from cm_assets.replica.query import Interval, PlumeQuery, plume_mask, to_ns
from cm_assets.replica.world import World

AssetUrl = Callable[[str], str]
PLUME_WINDOW_SHAPE = (101, 100)  # rows, cols
PLUME_WINDOW_CENTER = (50, 50)  # origin pixel inside the window
SECTOR_NAMES = {
    "1B2": "Oil & Gas (1B2)", "4B": "Livestock (4B)", "1B1a": "Coal Mining (1B1a)",
    "1A1": "Electricity Generation (1A1)", "6A": "Solid Waste (6A)", "6B": "Waste Water (6B)",
    "other": "Other", "NA": "NA",
}
PROVIDERS = {"tan": "Planet", "emi": "NASA-JPL", "ang": "NASA-JPL", "av3": "NASA-JPL", "GAO": "ASU GDCS"}
# The fields of a plume record as the API serves it (the spec's 35), in its order.
PLUME_PAYLOAD_FIELDS = (
    "id", "plume_id", "gas", "geometry_json", "scene_id", "scene_timestamp", "instrument",
    "mission_phase", "platform", "emission_auto", "emission_uncertainty_auto", "emission_cmf_type",
    "cmf_type", "gsd", "sensitivity_mode", "off_nadir", "plume_tif", "con_tif", "plume_png",
    "rgb_png", "plume_rgb_png", "plume_bounds", "plume_quality", "wind_speed_avg_auto",
    "wind_direction_avg_auto", "emission_version", "processing_software", "publication_sources",
    "is_offshore", "collection", "sector", "status", "hide_emission", "published_at", "modified",
)
PLUME_CSV_COLUMNS = (
    "plume_id", "plume_latitude", "plume_longitude", "datetime", "country", "state_province",
    "ipcc_sector", "gas", "emission_cmf_type", "plume_bounds", "instrument", "mission_phase",
    "published_at", "modified", "emission_version", "processing_software", "gsd",
    "sensitivity_mode", "off_nadir", "emission_auto", "emission_uncertainty_auto",
    "wind_speed_avg_auto", "wind_speed_std_auto", "wind_direction_avg_auto",
    "wind_direction_std_auto", "wind_source_auto", "platform", "provider", "plume_tif",
    "plume_png", "con_tif", "rgb_tif", "rgb_png",
)
L2B_ASSETS = ("cmf.tif", "cmf-unortho.tif", "uncertainty.tif", "uncertainty-unortho.tif", "artifact-mask.tif", "uas.txt")
VIS_ASSETS = ("plume.tif", "plume-concentrations.tif", "plume-outline.geojson", "plume-rgb.png", "rgb.tif", "plume.png", "rgb.png")
IME_ASSETS = ("ime-cmf-concentrations.png", "ime-cmf-concentrations.tif", "ime-cmf-mask.png", "ime-cmf-mask.tif", "ime-cmf-outline.geojson")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAT = np.iinfo(np.int64).min
_NEVER = np.iinfo(np.int64).max
_BOUNDS: WeakKeyDictionary[World, np.ndarray] = WeakKeyDictionary()
_DAY_NS = 86_400 * 1_000_000_000


# --------------------------------------------------------------------------- helpers


def iso(ns: int, seconds_only: bool = False) -> str | None:
    """RFC 3339 UTC text of int64 nanoseconds (None for NaT)."""
    if ns == _NAT:
        return None
    moment = _EPOCH + timedelta(microseconds=int(ns) // 1000)
    if seconds_only or moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_many(ns: np.ndarray, seconds_only: bool = False) -> list[str]:
    """Vectorized ``iso`` for int64 nanoseconds without NaT."""
    stamps = np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")
    if seconds_only:
        return [t + "Z" for t in np.datetime_as_string(stamps.astype("datetime64[s]"), unit="s").tolist()]
    text = np.datetime_as_string(stamps.astype("datetime64[us]"), unit="us").tolist()
    return [t[:-7] + "Z" if t.endswith(".000000") else t + "Z" for t in text]


def _day(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=int(ns) // 1000)).strftime("%Y-%m-%d")


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def asset_path(collection: str, item_id: str, asset_key: str) -> str:
    """Asset path per spec §7.1: ``/{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}``."""
    day = item_id[3:11]
    return f"/{collection}/{day[:4]}/{day[4:6]}/{day[6:8]}/{item_id}/{item_id}_{collection}_{asset_key}"


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


def _plume_urls(world: World, i: int, asset_url: AssetUrl) -> dict[str, str | None]:
    p, _ = world.columns()
    pid = p["plume_id"][i]
    missing = set(p["missing_assets"][i])
    vis, ime = p["l3a_vis_collection"][i], p["l3a_ime_collection"][i]

    def url(collection: str | None, key: str) -> str | None:
        if not isinstance(collection, str) or key in missing:
            return None
        return asset_url(asset_path(collection, pid, key))

    return {
        "plume_tif": url(vis, "plume.tif"),
        "con_tif": url(ime, "ime-cmf-concentrations.tif"),
        "plume_png": url(vis, "plume.png"),
        "rgb_png": url(vis, "rgb.png"),
        "plume_rgb_png": url(vis, "plume-rgb.png"),
        "rgb_tif": url(vis, "rgb.tif"),
    }


# --------------------------------------------------------------------------- plumes


def plume_record(world: World, i: int, asset_url: AssetUrl) -> dict:
    """PlumeAnnotatedOut (spec §4.3) of plume row ``i``, with the replica's field drift if any."""
    return apply_to_record(_plume_fields(world, i, asset_url), getattr(world, "drift", None))


def _plume_fields(world: World, i: int, asset_url: AssetUrl) -> dict:
    p, s = world.columns()
    j = int(p["scene_idx"][i])
    hidden = bool(p["hide_emission"][i])
    urls = _plume_urls(world, i, asset_url)
    return {
        "id": p["id"][i],
        "plume_id": p["plume_id"][i],
        "gas": p["gas"][i],
        "geometry_json": {"type": "Point", "coordinates": [float(p["lon"][i]), float(p["lat"][i])]},
        "scene_id": s["id"][j],
        "scene_timestamp": iso(s["timestamp"][j], seconds_only=True),
        "instrument": s["instrument"][j],
        "mission_phase": s["mission_phase"][j],
        "platform": s["platform"][j],
        "emission_auto": None if hidden else _num(p["emission_auto"][i]),
        "emission_uncertainty_auto": None if hidden else _num(p["emission_uncertainty_auto"][i]),
        "emission_cmf_type": p["emission_cmf_type"][i],
        "cmf_type": p["cmf_type"][i],
        "gsd": float(s["gsd"][j]),
        "sensitivity_mode": s["sensitivity_mode"][j],
        "off_nadir": float(s["off_nadir"][j]),
        "plume_tif": urls["plume_tif"],
        "con_tif": urls["con_tif"],
        "plume_png": urls["plume_png"],
        "rgb_png": urls["rgb_png"],
        "plume_rgb_png": urls["plume_rgb_png"],
        "plume_bounds": plume_bounds(world, i),
        "plume_quality": p["plume_quality"][i],
        "wind_speed_avg_auto": float(p["wind_speed_avg_auto"][i]),
        "wind_direction_avg_auto": float(p["wind_direction_avg_auto"][i]),
        "emission_version": p["emission_version"][i],
        "processing_software": p["processing_software"][i],
        "publication_sources": ["Carbon Mapper"],
        "is_offshore": bool(p["is_offshore"][i]),
        "collection": p["collection"][i],
        "sector": p["sector"][i],
        "status": p["status"][i],
        "hide_emission": hidden,
        "published_at": iso(p["published_at"][i]),
        "modified": iso(p["modified"][i]),
    }


def _wind_source(lon: float, lat: float) -> str:
    in_hrrr = -134.0 <= lon <= -60.0 and 21.0 <= lat <= 53.0
    return "hrrr" if in_hrrr else "ecmwf_ifs"


def _text(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return str(value)


def plume_csv_row(world: World, i: int, asset_url: AssetUrl) -> dict[str, str]:
    """One ``plume-csv`` row (2025-26 column order, spec §4.4); empty cells are nulls."""
    rec = _plume_fields(world, i, asset_url)
    p, s = world.columns()
    j = int(p["scene_idx"][i])
    lon, lat = rec["geometry_json"]["coordinates"]
    seed = int(p["plume_seed"][i])
    speed = rec["wind_speed_avg_auto"]
    values = {
        "plume_id": rec["plume_id"], "plume_latitude": f"{lat:.6f}", "plume_longitude": f"{lon:.6f}",
        "datetime": rec["scene_timestamp"], "country": p["country"][i], "state_province": p["state_province"][i],
        "ipcc_sector": SECTOR_NAMES[rec["sector"]], "gas": rec["gas"], "emission_cmf_type": rec["emission_cmf_type"],
        "plume_bounds": json.dumps(rec["plume_bounds"]), "instrument": rec["instrument"],
        "mission_phase": rec["mission_phase"], "published_at": rec["published_at"], "modified": rec["modified"],
        "emission_version": rec["emission_version"], "processing_software": rec["processing_software"],
        "gsd": rec["gsd"], "sensitivity_mode": rec["sensitivity_mode"], "off_nadir": rec["off_nadir"],
        "emission_auto": rec["emission_auto"], "emission_uncertainty_auto": rec["emission_uncertainty_auto"],
        "wind_speed_avg_auto": speed, "wind_speed_std_auto": round(speed * (0.15 + (seed % 100) / 500), 3),
        "wind_direction_avg_auto": rec["wind_direction_avg_auto"],
        "wind_direction_std_auto": round(10.0 + (seed % 300) / 10, 2),
        "wind_source_auto": _wind_source(lon, lat), "platform": rec["platform"],
        "provider": PROVIDERS[s["instrument"][j]], "plume_tif": rec["plume_tif"], "plume_png": rec["plume_png"],
        "con_tif": rec["con_tif"], "rgb_tif": _plume_urls(world, i, asset_url)["rgb_tif"], "rgb_png": rec["rgb_png"],
    }
    return {c: _text(values[c]) for c in PLUME_CSV_COLUMNS}


# --------------------------------------------------------------------------- sources


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
    obs_days = sorted({_day(t) for t in a["scene_ts"][obs_scenes]})
    det_days = sorted({_day(t) for t in a["scene_ts"][det_scenes]})
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


# --------------------------------------------------------------------------- scenes


def scene_annotated(world: World, j: int, now: datetime | None = None) -> dict:
    """SceneAnnotatedOut (spec §4.12); ``published_plume_count`` counts plumes visible at ``now``."""
    _, s = world.columns()
    a = world.arrays()
    in_scene = a["scene_idx"] == j
    if now is not None:
        in_scene &= a["published"] <= to_ns(now)
    area = float(s["width"][j] * s["height"][j] * s["gsd"][j] ** 2 / 1e6)
    cloud = int(s["cloud_cover_pct"][j])
    hour = (int(s["timestamp"][j]) // 1_000_000_000 % 86_400) / 3600 + float(s["west"][j] + s["east"][j]) / 30
    zenith = min(89.0, abs(float(s["south"][j] + s["north"][j]) / 2 - 10.0) + abs(hour - 12.0) * 12.0)
    return {
        "id": s["id"][j],
        "name": s["name"][j],
        "bounds": [float(s["west"][j]), float(s["south"][j]), float(s["east"][j]), float(s["north"][j])],
        "timestamp": iso(s["timestamp"][j], True),
        "published_at": None if a["scene_visible"][j] == _NEVER else iso(int(a["scene_visible"][j])),
        "instrument": s["instrument"][j],
        "platform": s["platform"][j],
        "mission_phase": s["mission_phase"][j],
        "published_plume_count": int(in_scene.sum()),
        "cloud_cover_pct": cloud,
        "cloud_cover_pct_assessed": cloud,
        "not_cloudy": cloud < 20,
        "area_sqkm": round(area, 3),
        "gsd": float(s["gsd"][j]),
        "solar_zenith_angle": round(zenith, 2),
        "off_nadir": float(s["off_nadir"][j]),
        "sensitivity_mode": s["sensitivity_mode"][j],
    }


# --------------------------------------------------------------------------- STAC


def _links(api_base: str, collection_id: str, item_id: str | None = None) -> list[dict]:
    root = f"{api_base}/stac/"
    coll = f"{api_base}/stac/collections/{collection_id}"
    links = [{"rel": "root", "href": root, "type": "application/json"}]
    if item_id is None:
        links += [
            {"rel": "self", "href": coll, "type": "application/json"},
            {"rel": "parent", "href": root, "type": "application/json"},
            {"rel": "items", "href": f"{coll}/items", "type": "application/geo+json"},
        ]
    else:
        links += [
            {"rel": "self", "href": f"{coll}/items/{item_id}", "type": "application/geo+json"},
            {"rel": "parent", "href": coll, "type": "application/json"},
            {"rel": "collection", "href": coll, "type": "application/json"},
        ]
    return links


def stac_collection(world: World, collection_id: str, api_base: str) -> dict:
    """STAC 1.0 Collection for one of ``world.collections``."""
    info = world.collections[collection_id]
    start, end = info["temporal_extent"]
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "title": collection_id,
        "description": f"Carbon Mapper {info['level'].upper()} {info['family']} products, version {info['version']}",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")]]},
        },
        "links": _links(api_base, collection_id),
    }


def _asset(api_base: str, collection: str, item_id: str, key: str) -> dict:
    media = {
        "tif": "image/tiff; application=geotiff; profile=cloud-optimized", "png": "image/png",
        "geojson": "application/geo+json", "txt": "text/plain",
    }[key.rsplit(".", 1)[1]]
    return {"href": f"{api_base}/catalog/asset{asset_path(collection, item_id, key)}", "type": media, "roles": ["data"]}


def _feature(item_id: str, collection_id: str, bbox: list[float], geometry: dict, properties: dict, assets: dict, api_base: str) -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": collection_id,
        "bbox": bbox, "geometry": geometry, "properties": properties, "assets": assets,
        "links": _links(api_base, collection_id, item_id),
    }


def stac_item(world: World, row: int, collection_id: str, api_base: str) -> dict:
    """STAC item of a scene row (L2B, L2B-RGB) or a plume row (L3A vis/ime) in ``collection_id``."""
    info = world.collections[collection_id]
    p, s = world.columns()
    family = info["family"]
    if family in ("l2b", "rgb"):
        j = row
        name = s["name"][j]
        if family == "rgb":
            keys = ["rgb.tif"]
        else:
            keys = [k for k in L2B_ASSETS if (k != "artifact-mask.tif" or s["has_artifact_mask"][j])
                    and ("unortho" not in k or s["has_unortho"][j])]
        props = {
            "datetime": iso(s["timestamp"][j], True), "platform": s["instrument"][j],
            "instruments": [s["instrument"][j]], "version": info["version"], "gsd": float(s["gsd"][j]),
            "view:off_nadir": float(s["off_nadir"][j]), "proj:epsg": int(s["epsg"][j]),
        }
        geometry = shapely.geometry.mapping(shapely.from_wkt(s["footprint_wkt"][j]))
        bbox = [float(s["west"][j]), float(s["south"][j]), float(s["east"][j]), float(s["north"][j])]
        assets = {k: _asset(api_base, collection_id, name, k) for k in keys}
        return _feature(name, collection_id, bbox, json.loads(json.dumps(geometry)), props, assets, api_base)
    i = row
    pid = p["plume_id"][i]
    j = int(p["scene_idx"][i])
    missing = set(p["missing_assets"][i])
    keys = [k for k in (VIS_ASSETS if family == "vis" else IME_ASSETS) if k not in missing]
    bbox = plume_bounds(world, i)
    geometry = shapely.geometry.mapping(shapely.box(*bbox))
    props = {
        "datetime": iso(s["timestamp"][j], True), "platform": s["instrument"][j],
        "instruments": [s["instrument"][j]], "version": info["version"], "gsd": float(s["gsd"][j]),
        "view:off_nadir": float(s["off_nadir"][j]), "proj:epsg": int(s["epsg"][j]),
        "cm:gas": p["gas"][i], "cm:sector": p["sector"][i],
    }
    assets = {k: _asset(api_base, collection_id, pid, k) for k in keys}
    return _feature(pid, collection_id, bbox, json.loads(json.dumps(geometry)), props, assets, api_base)


def _scene_collections(world: World, gas: str) -> np.ndarray:
    _, s = world.columns()
    out = np.array([versions.l2b_collection(gas, v, i) for v, i in zip(s["l2b_version"], s["instrument"])], dtype=object)
    if gas == "CO2":
        out[~world.arrays()["scene_has_co2"]] = None
    return out


def stac_items(
    world: World,
    collection_id: str,
    now: datetime,
    bbox: tuple[float, float, float, float] | None = None,
    datetime: Interval | None = None,
    ids: tuple[str, ...] | None = None,
) -> list[tuple[str, int]]:
    """(kind, row) of the items of a STAC-resident collection visible at ``now``, oldest first.

    ``kind`` is the collection family: ``l2b`` / ``rgb`` (scene rows) or ``vis`` / ``ime``
    (plume rows). Collections outside STAC yield nothing.
    """
    info = world.collections.get(collection_id)
    if info is None or not info["stac_resident"]:
        return []
    now_ns = to_ns(now)
    a = world.arrays()
    p, s = world.columns()
    family = info["family"]
    if family in ("l2b", "rgb"):
        if family == "rgb":
            member = np.array([versions.l2b_rgb_collection(v) for v in s["l2b_version"]], dtype=object) == collection_id
        else:
            member = _scene_collections(world, info["gas"]) == collection_id
        mask = member & (a["l2b_published"] <= now_ns)
        ts, names = a["scene_ts"], s["name"]
        b = a["scene_bounds"]
        west, south, east, north = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    else:
        column = "l3a_vis_collection" if family == "vis" else "l3a_ime_collection"
        mask = (p[column] == collection_id) & (a["published"] <= now_ns)
        ts, names = a["ts"], p["plume_id"]
        west = east = a["lon"]
        south = north = a["lat"]
    if bbox is not None:
        w, so, e, n = bbox
        mask &= (west <= e) & (east >= w) & (south <= n) & (north >= so)
    if datetime is not None:
        start, end = datetime
        if start is not None:
            mask &= ts >= to_ns(start)
        if end is not None:
            mask &= ts <= to_ns(end)
    if ids is not None:
        mask &= np.isin(names, list(ids))
    rows = np.nonzero(mask)[0]
    rows = rows[np.argsort(ts[rows], kind="stable")]
    return [(family, int(r)) for r in rows]
