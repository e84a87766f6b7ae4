"""Draws the replica's deterministic synthetic world: scenes (overpasses), plumes and sources.

``build_world(WorldConfig(...))`` draws everything from one ``numpy`` Generator seeded by the
config, so the same config gives identical tables. The model:

* **Emitters** sit in real regions (``geography``) with a sector, a gas (CO2 only at some power
  plants), a base rate (lognormal by sector) and an on-probability (persistent 0.6-0.95,
  intermittent 0.05-0.35). A third of them sit within a few hundred metres of another emitter
  (well pads, compressor stations), which gives multi-emitter sources.
* **Overpasses** per instrument over its era (``instruments``): satellites near 10:30 local
  time over any region, airborne instruments in flights of several lines on one day over North
  American regions. Each scene is a north-up UTM grid in the zone of its target; every emitter
  inside the grid (10 px margin) is *covered*.
* **Detections**: for each covered emitter the rate is ``base * lognormal(0, 0.6)`` (CH4 capped
  at 20 t/h); an emitter that is on is detected with probability ``1 / (1 + (limit / Q)^4)``.
  Batches of overpasses are drawn until the instrument's share of ``n_plumes`` is reached; the
  surplus detections of the last batch become non-detections, so ``n_plumes`` is exact.
  CO2 detections start with the v3 era (2023-03).
* **Plumes** are numbered ``-A``, ``-B``, ... in reading order (north to south, then west to
  east) within their scene; the origin is the emitter jittered by ~20 m (satellites) or ~8 m
  (airborne). ``q_true`` is the rate the rasters reproduce; ``emission_auto`` equals it except
  for ~25 % nulls and the ~2 % ``ime_perturbed`` rows (x1.3-2).
* **Publication**: a scene's plumes publish together after a lag (Tanager median ~12 days,
  others ~3 days, capped at 30 days), a few plumes later; ``modified`` is minutes to hours after
  publication, sometimes weeks (capped at the start of ``end``); ``clustered_at`` is 1-5 days
  after publication; the L2B follows days to weeks after the plumes, and ~30 % of scenes from
  the last 60 days before ``end`` never publish their L2B.
* **Sources** are DBSCAN clusters (``minpoints = 1``) per gas and sector over all plumes except
  ``bad`` quality ones (those are never clustered), with ``EPS_BY_SECTOR``. The name uses the
  centroid of every member; visibility at ``now`` is applied when sources are rendered.
  Observation scenes of a source are the scenes covering any of its emitters.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from cm_assets.replica import catalog_ids, versions
from cm_assets.replica.clustering import dbscan_min1
from cm_assets.replica.geography import REGIONS
from cm_assets.replica.instruments import INSTRUMENTS, Instrument
from cm_assets.replica.world import WORLD_START, World, WorldConfig, utc_ns

EPS_BY_SECTOR = {"1B2": 100, "4B": 250, "NA": 250, "other": 250, "1A1": 250, "6B": 250, "6A": 500, "1B1a": 1000}
_SECTOR_RATE = {  # median kg/h CH4, lognormal sigma
    "1B2": (450.0, 1.1), "6A": (900.0, 0.9), "1B1a": (1200.0, 0.9), "4B": (250.0, 0.8),
    "1A1": (200.0, 0.8), "6B": (120.0, 0.7), "NA": (350.0, 1.0), "other": (350.0, 1.0),
}
_CO2_RATE = (600_000.0, 0.5)
_CO2_PLANT_SHARE = 0.045
_AIRBORNE_COUNTRIES = frozenset({"United States", "Canada", "Mexico"})
_EDGE_MARGIN_PX = 10
_NS_PER_S = 1_000_000_000
_DAY_NS = 86_400 * _NS_PER_S
OPTIONAL_PLUME_ASSETS = ("ime-cmf-outline.geojson", "plume-rgb.png", "ime-cmf-mask.png")


def _emitters(rng: np.random.Generator, n: int) -> pd.DataFrame:
    weights = np.array([r.weight for r in REGIONS])
    region = rng.choice(len(REGIONS), size=n, p=weights / weights.sum())
    region.sort()
    lat0 = np.array([r.lat for r in REGIONS])[region]
    lon0 = np.array([r.lon for r in REGIONS])[region]
    spread = np.array([r.spread_km for r in REGIONS])[region]
    lat = lat0 + rng.normal(0, 1, n) * spread / 110.574
    lon = lon0 + rng.normal(0, 1, n) * spread / (111.32 * np.cos(np.radians(lat0)))
    near = rng.random(n) < 0.33
    near[0] = False
    partner = np.maximum(np.arange(n) - rng.integers(1, 4, n), 0)
    same_region = region[partner] == region
    near &= same_region
    dist = rng.uniform(150, 450, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    lat = np.where(near, lat[partner] + dist * np.sin(ang) / 110_574.0, lat)
    lon = np.where(near, lon[partner] + dist * np.cos(ang) / (111_320.0 * np.cos(np.radians(lat0))), lon)
    sector = np.empty(n, dtype=object)
    for k, r in enumerate(REGIONS):
        mask = region == k
        names = list(r.sectors)
        probs = np.array([r.sectors[s] for s in names])
        sector[mask] = rng.choice(names, size=mask.sum(), p=probs / probs.sum())
    power = rng.random(n) < _CO2_PLANT_SHARE
    sector[power] = "1A1"
    gas = np.where((sector == "1A1") & (rng.random(n) < 0.85), "CO2", "CH4").astype(object)
    median = np.array([_SECTOR_RATE[s][0] for s in sector])
    sigma = np.array([_SECTOR_RATE[s][1] for s in sector])
    co2 = gas == "CO2"
    median[co2], sigma[co2] = _CO2_RATE
    base = median * np.exp(sigma * rng.normal(0, 1, n))
    persistent_share = np.where(np.isin(sector, ["6A", "1B1a", "4B", "1A1"]), 0.7, 0.3)
    persistent = rng.random(n) < persistent_share
    on_prob = np.where(persistent, rng.uniform(0.6, 0.95, n), rng.uniform(0.05, 0.35, n))
    return pd.DataFrame(
        {"region": region, "lon": lon, "lat": lat, "sector": sector, "gas": gas, "base": base, "on_prob": on_prob}
    )


def _epsg(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(int) + 1, 1, 60)
    return np.where(lat >= 0, 32600 + zone, 32700 + zone)


def _to_utm(lon: np.ndarray, lat: np.ndarray, epsg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.empty(len(lon))
    y = np.empty(len(lon))
    for code in np.unique(epsg):
        m = epsg == code
        x[m], y[m] = Transformer.from_crs(4326, int(code), always_xy=True).transform(lon[m], lat[m])
    return x, y


def _to_lonlat(x: np.ndarray, y: np.ndarray, epsg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.empty(len(x))
    lat = np.empty(len(x))
    for code in np.unique(epsg):
        m = epsg == code
        lon[m], lat[m] = Transformer.from_crs(int(code), 4326, always_xy=True).transform(x[m], y[m])
    return lon, lat


def _era_times(rng: np.random.Generator, inst: Instrument, end: date, n: int) -> np.ndarray:
    """Observation days (datetime64[ns] at midnight) with the instrument's growth ramp."""
    start = max(inst.start, WORLD_START)
    stop = min(inst.stop or end, end)
    span_days = (stop - start).days + 1
    c = rng.random(n)
    g = inst.growth
    u = c if g == 0 else (-1.0 + np.sqrt(1.0 + 2.0 * g * c * (1.0 + g / 2.0))) / g
    days = np.minimum((u * span_days).astype(np.int64), span_days - 1)
    return np.datetime64(start, "ns") + days * _DAY_NS


class _Emitters:
    """Emitters sorted for footprint searches (1-degree latitude bins, then longitude)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self.lon = table["lon"].to_numpy()
        self.lat = table["lat"].to_numpy()
        key = np.floor(self.lat) * 1000.0 + (self.lon + 180.0)
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        region = table["region"].to_numpy()
        self.region_start = np.searchsorted(region, np.arange(len(REGIONS)))
        self.region_count = np.bincount(region, minlength=len(REGIONS))
        self.epsg = _epsg(self.lon, self.lat)
        self.x, self.y = _to_utm(self.lon, self.lat, self.epsg)

    def utm(self, emitter: np.ndarray, epsg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of emitters in the given UTM zones (own-zone values are precomputed)."""
        x, y = self.x[emitter].copy(), self.y[emitter].copy()
        other = self.epsg[emitter] != epsg
        if other.any():
            x[other], y[other] = _to_utm(self.lon[emitter[other]], self.lat[emitter[other]], epsg[other])
        return x, y

    def in_boxes(self, west, south, east, north) -> tuple[np.ndarray, np.ndarray]:
        """(box index, emitter index) for emitters inside lon/lat boxes spanning <= 2 lat bins."""
        boxes, found = [], []
        for k in (0, 1):
            band = np.floor(south) + k
            valid = band <= np.floor(north)
            lo = np.searchsorted(self.key, band * 1000.0 + west + 180.0)
            hi = np.searchsorted(self.key, band * 1000.0 + east + 180.0, side="right")
            n = np.where(valid, hi - lo, 0)
            box = np.repeat(np.arange(len(west)), n)
            pos = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
            boxes.append(box)
            found.append(self.order[pos])
        box = np.concatenate(boxes)
        emitter = np.concatenate(found)
        keep = (self.lat[emitter] >= south[box]) & (self.lat[emitter] <= north[box])
        return box[keep], emitter[keep]


def _targets(rng: np.random.Generator, em: _Emitters, regions: np.ndarray) -> np.ndarray:
    return em.region_start[regions] + (rng.random(len(regions)) * em.region_count[regions]).astype(int)


def _overpass_batch(
    rng: np.random.Generator, inst: Instrument, em: _Emitters, end: date, n: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``n`` scenes of one instrument and their covered-emitter pairs with detections."""
    weights = np.array([r.weight if r.country in _AIRBORNE_COUNTRIES or not inst.airborne else 0.0 for r in REGIONS])
    weights = weights * (em.region_count > 0)
    if inst.airborne:
        n_flights = max(1, int(np.ceil(n / 5)))
        f_region = rng.choice(len(REGIONS), size=n_flights, p=weights / weights.sum())
        f_day = _era_times(rng, inst, end, n_flights)
        lines = 1 + rng.poisson(4, n_flights)
        flight = np.repeat(np.arange(n_flights), lines)[:n]
        n = len(flight)
        line_no = np.arange(n) - np.repeat(np.cumsum(lines) - lines, lines)[:n]
        region = f_region[flight]
        lon_c = np.array([r.lon for r in REGIONS])[region]
        local_h = rng.uniform(9.0, 13.0, n_flights)[flight] + line_no * rng.uniform(0.12, 0.25, n)
        day = f_day[flight]
    else:
        region = rng.choice(len(REGIONS), size=n, p=weights / weights.sum())
        lon_c = np.array([r.lon for r in REGIONS])[region]
        local_h = rng.normal(10.5, 0.6, n)
        day = _era_times(rng, inst, end, n)
    utc_h = np.mod(local_h - lon_c / 15.0, 24.0)
    timestamp = day + (utc_h * 3600 * _NS_PER_S).astype(np.int64) // _NS_PER_S * _NS_PER_S
    target = _targets(rng, em, region)
    t_lon, t_lat = em.lon[target], em.lat[target]
    epsg = _epsg(t_lon, t_lat)
    tx, ty = _to_utm(t_lon, t_lat, epsg)
    if inst.airborne:
        width = (inst.width_px * rng.uniform(0.5, 1.0, n)).astype(int)
    else:
        width = np.full(n, inst.width_px)
    height = (inst.height_px * rng.uniform(0.6, 1.0, n)).astype(int)
    half_w, half_h = width * inst.gsd / 2, height * inst.gsd / 2
    cx = tx + rng.uniform(-0.35, 0.35, n) * half_w
    cy = ty + rng.uniform(-0.35, 0.35, n) * half_h
    x0 = np.floor((cx - half_w) / inst.gsd) * inst.gsd
    y0 = np.ceil((cy + half_h) / inst.gsd) * inst.gsd
    x1, y1 = x0 + width * inst.gsd, y0 - height * inst.gsd
    cxs = np.concatenate([x0, x1, x1, x0])
    cys = np.concatenate([y0, y0, y1, y1])
    clon, clat = _to_lonlat(cxs, cys, np.tile(epsg, 4))
    clon, clat = clon.reshape(4, n), clat.reshape(4, n)
    scenes = {
        "instrument": np.full(n, inst.code, dtype=object), "timestamp": timestamp, "epsg": epsg,
        "x0": x0, "y0": y0, "gsd": np.full(n, inst.gsd), "width": width, "height": height,
        "west": clon.min(0), "south": clat.min(0), "east": clon.max(0), "north": clat.max(0),
        "corners_lon": clon.T, "corners_lat": clat.T,
    }
    box, emitter = em.in_boxes(scenes["west"], scenes["south"], scenes["east"], scenes["north"])
    ex, ey = em.utm(emitter, epsg[box])
    margin = _EDGE_MARGIN_PX * inst.gsd
    inside = (ex >= x0[box] + margin) & (ex <= x1[box] - margin) & (ey <= y0[box] - margin) & (ey >= y1[box] + margin)
    box, emitter, ex, ey = box[inside], emitter[inside], ex[inside], ey[inside]
    table = em.table
    gas = table["gas"].to_numpy()[emitter]
    rate = table["base"].to_numpy()[emitter] * np.exp(0.6 * rng.normal(0, 1, len(box)))
    rate = np.where(gas == "CH4", np.minimum(rate, 20_000.0), rate)
    limit = np.where(gas == "CH4", inst.limit_ch4, inst.limit_co2)
    on = rng.random(len(box)) < table["on_prob"].to_numpy()[emitter]
    pod = 1.0 / (1.0 + (limit / rate) ** 4)
    detected = on & (rng.random(len(box)) < pod)
    detected &= (gas == "CH4") | (timestamp[box] >= versions.CO2_START)
    pairs = {"scene": box, "emitter": emitter, "x": ex, "y": ey, "rate": rate, "detected": detected}
    return scenes, pairs


def _overpasses(
    rng: np.random.Generator, inst: Instrument, em: _Emitters, end: date, target: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Batches of overpasses until ``target`` detections; the surplus becomes non-detections."""
    scene_parts: list[dict[str, np.ndarray]] = []
    pair_parts: list[dict[str, np.ndarray]] = []
    found, n_scenes, per_scene = 0, 0, 1.5
    while not scene_parts or found < target:
        batch = max(20, int((target - found) / per_scene * 1.05) + 5)
        scenes, pairs = _overpass_batch(rng, inst, em, end, batch)
        pairs["scene"] = pairs["scene"] + n_scenes
        n_scenes += len(scenes["timestamp"])
        found += int(pairs["detected"].sum())
        per_scene = max(found / n_scenes, 0.05)
        scene_parts.append(scenes)
        pair_parts.append(pairs)
        if len(scene_parts) > 50:
            raise RuntimeError(f"{inst.code}: cannot reach {target} detections (found {found})")
    scenes = {k: np.concatenate([p[k] for p in scene_parts]) for k in scene_parts[0]}
    pairs = {k: np.concatenate([p[k] for p in pair_parts]) for k in pair_parts[0]}
    surplus = found - target
    if surplus:
        hits = np.nonzero(pairs["detected"])[0]
        pairs["detected"][rng.choice(hits, size=surplus, replace=False)] = False
    return scenes, pairs


def _plume_shares(end: date) -> dict[str, float]:
    active = {c: i.plume_share for c, i in INSTRUMENTS.items() if max(i.start, WORLD_START) <= end}
    total = sum(active.values())
    return {c: s / total for c, s in active.items()}


def _unique_names(rng: np.random.Generator, instrument: np.ndarray, timestamp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names = catalog_ids.scene_names(instrument, timestamp, rng)
    while True:
        dup = pd.Series(names).duplicated().to_numpy()
        if not dup.any():
            return names, timestamp
        timestamp = timestamp.copy()
        timestamp[dup] += _NS_PER_S
        names[dup] = catalog_ids.scene_names(instrument[dup], timestamp[dup], rng)


def _scene_table(rng: np.random.Generator, raw: dict[str, np.ndarray], end: date) -> pd.DataFrame:
    n = len(raw["timestamp"])
    instrument = raw["instrument"]
    names, timestamp = _unique_names(rng, instrument, raw["timestamp"])
    ring = np.stack([raw["corners_lon"], raw["corners_lat"]], axis=-1)
    corners = shapely.to_wkt(shapely.polygons(ring), rounding_precision=6)
    _, l2b_version = versions.era_versions(timestamp, instrument)
    tan_early = (instrument == "tan") & (timestamp < np.datetime64("2025-01-01", "ns"))
    modes = np.where((instrument == "tan") & (rng.random(n) < 0.3), "high", "standard").astype(object)
    max_off = np.array([INSTRUMENTS[c].max_off_nadir for c in instrument])
    platform = np.array([INSTRUMENTS[c].platform for c in instrument], dtype=object)
    return pd.DataFrame(
        {
            "name": names,
            "id": catalog_ids.uuids(rng, n),
            "instrument": instrument,
            "platform": platform,
            "timestamp": pd.to_datetime(timestamp, utc=True),
            "epsg": raw["epsg"].astype(int),
            "x0": raw["x0"], "y0": raw["y0"], "gsd": raw["gsd"],
            "width": raw["width"].astype(int), "height": raw["height"].astype(int),
            "west": raw["west"], "south": raw["south"], "east": raw["east"], "north": raw["north"],
            "footprint_wkt": corners,
            "l2b_version": l2b_version,
            "l2b_published_at": pd.NaT,
            "has_artifact_mask": ~np.isin(l2b_version, ["v1"]) & ~((l2b_version == "v3d") & (rng.random(n) < 0.3)),
            "has_unortho": l2b_version != "v1",
            "cloud_cover_pct": np.round(100 * rng.beta(0.7, 3.0, n)).astype(int),
            "mission_phase": np.where(tan_early, "commissioning", "production").astype(object),
            "off_nadir": np.round(rng.uniform(0, 1, n) * max_off, 2),
            "sensitivity_mode": modes,
            "gases": [("CH4",)] * n,
        }
    )


def _lag_days(rng: np.random.Generator, instrument: np.ndarray) -> np.ndarray:
    median = np.where(instrument == "tan", 12.0, 3.0)
    return np.clip(median * np.exp(0.9 * rng.normal(0, 1, len(instrument))), 2.0 / 24.0, 30.0)


def _plume_table(
    rng: np.random.Generator, scenes: pd.DataFrame, det: dict[str, np.ndarray], em: pd.DataFrame, end: date
) -> pd.DataFrame:
    scene = det["scene"]
    n = len(scene)
    instrument = scenes["instrument"].to_numpy()[scene]
    airborne = np.array([INSTRUMENTS[c].airborne for c in instrument])
    jitter = np.where(airborne, 8.0, 20.0)
    x = det["x"] + rng.normal(0, 1, n) * jitter
    y = det["y"] + rng.normal(0, 1, n) * jitter
    epsg = scenes["epsg"].to_numpy()[scene]
    lon, lat = _to_lonlat(x, y, epsg)
    order = np.lexsort((x, -y, scene))
    scene, x, y, lon, lat, instrument = scene[order], x[order], y[order], lon[order], lat[order], instrument[order]
    emitter, rate = det["emitter"][order], det["rate"][order]
    first = np.searchsorted(scene, scene)
    rank = np.arange(n) - first
    suffixes = [catalog_ids.plume_suffix(k) for k in range(int(rank.max()) + 1 if n else 0)]
    names = scenes["name"].to_numpy()[scene]
    plume_id = np.array([f"{s}-{suffixes[r]}" for s, r in zip(names, rank)], dtype=object)
    gas = em["gas"].to_numpy()[emitter]
    sector = em["sector"].to_numpy()[emitter]
    region = em["region"].to_numpy()[emitter]
    observed = utc_ns(scenes["timestamp"])[scene]

    l3a, _ = versions.era_versions(observed, instrument)
    scene_l2b = scenes["l2b_version"].to_numpy()
    reversion_scene = (utc_ns(scenes["timestamp"]) >= versions.REVERSION_START) & (
        scene_l2b == "v3c"
    ) & (rng.random(len(scenes)) < 0.3)
    l3a[reversion_scene[scene]] = "v3d"
    scene_inst = scenes["instrument"].to_numpy()
    combo = pd.Series(gas).str.cat([pd.Series(l3a), pd.Series(scene_l2b[scene]), pd.Series(scene_inst[scene])], sep="|")
    codes, uniques = pd.factorize(combo)
    table = []
    for key in uniques:
        g, v, l2b_version, inst = key.split("|")
        vis, ime = versions.l3a_collections(g, v)
        ime_cmf = versions.cmf_types(g, v)[1]
        table.append((vis, ime, ime_cmf, versions.l2b_collection(g, l2b_version, inst), versions.l2b_rgb_collection(l2b_version)))
    vis_c, ime_c, ecmf, l2b_c, rgb_c = (np.array([t[k] for t in table], dtype=object)[codes] for k in range(5))
    patch = rng.integers(0, 9, n)
    software = [versions.software(v, p) for v, p in zip(l3a, patch)]

    null_emission = rng.random(n) < 0.25
    perturbed = ~null_emission & (rng.random(n) < 0.02 / 0.75)
    emission = np.where(null_emission, np.nan, rate * np.where(perturbed, rng.uniform(1.3, 2.0, n), 1.0))
    uncertainty = emission * rng.uniform(0.15, 0.45, n)
    quality = rng.choice(np.array(["good", "questionable", "bad"], dtype=object), n, p=[0.85, 0.12, 0.03])
    has_ime = np.array([c is not None for c in ime_c])
    missing: list[tuple[str, ...]] = [()] * n
    miss_pick = rng.random(n) < 0.015
    choice = rng.integers(0, len(OPTIONAL_PLUME_ASSETS), n)
    for k in np.nonzero(miss_pick)[0]:
        asset = OPTIONAL_PLUME_ASSETS[choice[k]]
        if asset.startswith("ime-") and not has_ime[k]:
            asset = "plume-rgb.png"
        missing[k] = (asset,)

    scene_lag = _lag_days(rng, scenes["instrument"].to_numpy())
    lag = scene_lag[scene] + np.where(rng.random(n) < 0.1, rng.uniform(0.5, 5.0, n), rng.uniform(0, 2, n) / 24)
    lag = np.minimum(lag, 30.0)
    published = observed + (lag * _DAY_NS).astype(np.int64)
    end_ns = np.datetime64(end, "ns")
    later = rng.random(n) < 0.15
    mod_delay = np.where(later, rng.uniform(1, 30, n), rng.uniform(0, 6, n) / 24)
    modified = np.maximum(np.minimum(published + (mod_delay * _DAY_NS).astype(np.int64), end_ns), published)
    clustered = published + (rng.uniform(1, 5, n) * _DAY_NS).astype(np.int64)

    wind = np.clip(3.5 * np.exp(0.5 * rng.normal(0, 1, n)), 0.5, 15.0)
    return pd.DataFrame(
        {
            "id": catalog_ids.uuids(rng, n),
            "plume_id": plume_id,
            "scene_idx": scene.astype(int),
            "gas": gas,
            "lon": lon, "lat": lat, "x": x, "y": y,
            "sector": sector,
            "source_idx": -1,
            "q_true": rate,
            "emission_auto": emission,
            "emission_uncertainty_auto": uncertainty,
            "wind_speed_avg_auto": np.round(wind, 3),
            "wind_direction_avg_auto": np.round(rng.uniform(0, 360, n), 2),
            "plume_quality": quality,
            "hide_emission": rng.random(n) < 0.01,
            "status": "published",
            "emission_version": l3a,
            "processing_software": software,
            "emission_cmf_type": ecmf,
            "cmf_type": ecmf,
            "collection": [versions.l2c_collection(g) for g in gas],
            "l3a_vis_collection": vis_c,
            "l3a_ime_collection": pd.Series(ime_c, dtype=object),
            "l2b_collection": l2b_c,
            "l2b_rgb_collection": rgb_c,
            "published_at": pd.to_datetime(published, utc=True),
            "modified": pd.to_datetime(modified, utc=True),
            "clustered_at": pd.to_datetime(clustered, utc=True),
            "plume_seed": rng.integers(0, 2**31 - 1, n),
            "ime_perturbed": perturbed,
            "missing_assets": missing,
            "country": np.array([r.country for r in REGIONS], dtype=object)[region],
            "state_province": np.array([r.state for r in REGIONS], dtype=object)[region],
            "is_offshore": np.array([r.offshore for r in REGIONS])[region],
            "_emitter": emitter,
        }
    )


def _finish_scenes(rng: np.random.Generator, scenes: pd.DataFrame, plumes: pd.DataFrame, end: date) -> None:
    """Scene gases and L2B publication times, from the scene's plumes."""
    n = len(scenes)
    ts = utc_ns(scenes["timestamp"])
    base = ts + (_lag_days(rng, scenes["instrument"].to_numpy()) * _DAY_NS).astype(np.int64)
    last_plume = pd.Series(utc_ns(plumes["published_at"])).groupby(
        plumes["scene_idx"].to_numpy()
    ).max()
    base[last_plume.index.to_numpy()] = np.maximum(base[last_plume.index.to_numpy()], last_plume.to_numpy())
    extra = np.where(scenes["instrument"].to_numpy() == "tan", rng.uniform(5, 60, n), rng.uniform(2, 40, n))
    l2b = base + (extra * _DAY_NS).astype(np.int64)
    never = (ts >= np.datetime64(end, "ns") - 60 * _DAY_NS) & (rng.random(n) < 0.3)
    scenes["l2b_published_at"] = pd.to_datetime(np.where(never, np.datetime64("NaT", "ns"), l2b), utc=True)
    co2_scenes = np.unique(plumes["scene_idx"].to_numpy()[plumes["gas"].to_numpy() == "CO2"])
    gases = [("CH4",)] * n
    for s in co2_scenes:
        gases[s] = ("CH4", "CO2")
    scenes["gases"] = gases


def _sources(plumes: pd.DataFrame) -> pd.DataFrame:
    """Cluster plumes per (gas, sector); sets ``plumes.source_idx`` and returns the source table."""
    rows: list[dict] = []
    source_idx = np.full(len(plumes), -1)
    eligible = plumes["plume_quality"].to_numpy() != "bad"
    lon, lat = plumes["lon"].to_numpy(), plumes["lat"].to_numpy()
    for (gas, sector), group in plumes[eligible].groupby(["gas", "sector"], sort=True):
        eps = EPS_BY_SECTOR[sector]
        idx = group.index.to_numpy()
        label = dbscan_min1(lon[idx], lat[idx], float(eps))
        k = label.max() + 1
        counts = np.bincount(label, minlength=k)
        clon = np.bincount(label, weights=lon[idx], minlength=k) / counts
        clat = np.bincount(label, weights=lat[idx], minlength=k) / counts
        source_idx[idx] = len(rows) + label
        rows.extend(
            {"source_name": f"{gas}_{sector}_{eps}m_{a:.5f}_{b:.5f}", "gas": gas, "sector": sector, "eps": eps, "lon": a, "lat": b}
            for a, b in zip(clon, clat)
        )
    plumes["source_idx"] = source_idx
    sources = pd.DataFrame(rows, columns=["source_name", "gas", "sector", "eps", "lon", "lat"])
    dup = sources["source_name"].duplicated()
    sources.loc[dup, "source_name"] = [
        f"{g}_{s}_{e}m_{a + 1e-5 * (j + 1):.5f}_{b:.5f}"
        for j, (g, s, e, a, b) in enumerate(sources.loc[dup, ["gas", "sector", "eps", "lon", "lat"]].itertuples(index=False))
    ]
    return sources


def _source_scenes(
    scenes: pd.DataFrame, plumes: pd.DataFrame, sources: pd.DataFrame, pairs: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, scene rows) of the scenes covering each source's emitters, in time order."""
    clustered = plumes["source_idx"].to_numpy() >= 0
    emitter_source = pd.Series(plumes["source_idx"].to_numpy()[clustered]).groupby(
        plumes["_emitter"].to_numpy()[clustered]
    ).first()
    lookup = np.full(int(max(pairs["emitter"].max(initial=0), plumes["_emitter"].max()) + 1), -1)
    lookup[emitter_source.index.to_numpy()] = emitter_source.to_numpy()
    src = np.concatenate([lookup[pairs["emitter"]], plumes["source_idx"].to_numpy()])
    scn = np.concatenate([pairs["scene"], plumes["scene_idx"].to_numpy()])
    keep = src >= 0
    src, scn = src[keep], scn[keep]
    co2 = sources["gas"].to_numpy()[src] == "CO2"
    early = utc_ns(scenes["timestamp"])[scn] < versions.CO2_START
    src, scn = src[~(co2 & early)], scn[~(co2 & early)]
    key = np.sort(src.astype(np.int64) * (len(scenes) + 1) + scn)
    key = key[np.concatenate([[True], np.diff(key) != 0])]
    src, scn = key // (len(scenes) + 1), key % (len(scenes) + 1)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=len(sources)))])
    return ptr, scn


def build_world(config: WorldConfig) -> World:
    """Build the deterministic world for ``config``."""
    rng = np.random.default_rng(config.seed)
    emitters = _emitters(rng, max(200, int(config.n_plumes * 0.25)))
    em = _Emitters(emitters)
    shares = _plume_shares(config.end)
    targets = {c: int(round(s * config.n_plumes)) for c, s in shares.items()}
    first = next(iter(targets))
    targets[first] += config.n_plumes - sum(targets.values())
    scene_parts, pair_parts, offset = [], [], 0
    for code, target in targets.items():
        scenes, pairs = _overpasses(rng, INSTRUMENTS[code], em, config.end, target)
        pairs["scene"] = pairs["scene"] + offset
        offset += len(scenes["timestamp"])
        scene_parts.append(scenes)
        pair_parts.append(pairs)
    raw = {k: np.concatenate([p[k] for p in scene_parts]) for k in scene_parts[0]}
    pairs = {k: np.concatenate([p[k] for p in pair_parts]) for k in pair_parts[0]}
    order = np.argsort(raw["timestamp"], kind="stable")
    raw = {k: v[order] for k, v in raw.items()}
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    pairs["scene"] = rank[pairs["scene"]]
    scenes = _scene_table(rng, raw, config.end)
    det = {k: v[pairs["detected"]] for k, v in pairs.items()}
    plumes = _plume_table(rng, scenes, det, emitters, config.end)
    _finish_scenes(rng, scenes, plumes, config.end)
    sources = _sources(plumes)
    ptr, idx = _source_scenes(scenes, plumes, sources, pairs)
    plumes = plumes.drop(columns="_emitter")
    return World(config, scenes, plumes, sources, ptr, idx)
