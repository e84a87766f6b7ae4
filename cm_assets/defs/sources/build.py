"""Sources without I/O: regional query boxes, attribution, per-source statistics."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pyproj import Geod
from shapely.geometry import Point

REGION_DEG = 5.0
PAD_DEG = 0.05
_GEOD = Geod(ellps="WGS84")


def regional_bboxes(lons: Iterable[float], lats: Iterable[float], cell_deg: float = REGION_DEG,
                    pad_deg: float = PAD_DEG) -> list[tuple[float, float, float, float]]:
    """One padded (W, S, E, N) box per occupied ``cell_deg`` grid cell, so no box spans the globe."""
    points = pd.DataFrame({"lon": list(lons), "lat": list(lats)}).dropna()
    if points.empty:
        return []
    points["cell"] = list(zip(np.floor(points.lon / cell_deg), np.floor(points.lat / cell_deg)))
    boxes = []
    for _, group in points.groupby("cell"):
        boxes.append((max(-180.0, group.lon.min() - pad_deg), max(-90.0, group.lat.min() - pad_deg),
                      min(180.0, group.lon.max() + pad_deg), min(90.0, group.lat.max() + pad_deg)))
    return sorted(boxes)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def attribution(sources: pd.DataFrame, plumes: pd.DataFrame) -> pd.DataFrame:
    """plume_id → source_name from the sources' ``plume_ids``, limited to materialized plumes."""
    where = plumes.set_index("plume_id")[["lon", "lat"]]
    rows = []
    for source in sources.itertuples():
        for plume_id in source.plume_ids or ():
            if plume_id in where.index:
                lon, lat = where.loc[plume_id, ["lon", "lat"]]
                rows.append({"plume_id": plume_id, "source_name": source.source_name,
                             "distance_m": distance_m(lon, lat, source.lon, source.lat)})
    frame = pd.DataFrame(rows, columns=["plume_id", "source_name", "distance_m"])
    return frame.sort_values(["plume_id", "distance_m"]).drop_duplicates("plume_id").reset_index(drop=True)


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def source_statistics(detail, footprints: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Statistics of one source from its detail (every attributed plume, observing scenes) and the
    scene footprints of its region (overpasses whose footprint covers the source point); returns
    the row and the detections behind it."""
    plumes = pd.DataFrame([{"plume_id": p.plume_id, "scene_name": p.scene_name,
                            "scene_timestamp": p.scene_timestamp, "instrument": str(p.instrument or ""),
                            "emission_auto": p.emission_auto} for p in detail.plumes],
                          columns=["plume_id", "scene_name", "scene_timestamp", "instrument", "emission_auto"])
    times = pd.to_datetime(plumes["scene_timestamp"], utc=True)
    emissions = pd.to_numeric(plumes["emission_auto"]).dropna()
    point = detail.point
    covering = set()
    if point is not None and not footprints.empty:
        inside = ((footprints.west <= point.x) & (footprints.east >= point.x)
                  & (footprints.south <= point.y) & (footprints.north >= point.y))
        covering = set(footprints.loc[inside, "name"])
    covering |= {s.name for s in detail.scenes}
    detection_scenes = set(plumes["scene_name"])
    overpasses = covering | detection_scenes
    return {
        "source_name": detail.source_name, "gas": detail.gas, "sector": detail.sector,
        "lon": point.x if point is not None else None, "lat": point.y if point is not None else None,
        "detections": len(plumes), "distinct_days": int(times.dt.strftime("%Y-%m-%d").nunique()),
        "first_detection": times.min() if len(times) else None,
        "last_detection": times.max() if len(times) else None,
        "emission_median": _finite(emissions.median()) if len(emissions) else None,
        "emission_p90": _finite(emissions.quantile(0.9)) if len(emissions) else None,
        "emission_max": _finite(emissions.max()) if len(emissions) else None,
        "sensor_mix": plumes["instrument"].value_counts().to_dict(),
        "cm_persistence": detail.persistence, "site_emission": detail.emission_auto,
        "overpasses": len(overpasses), "detection_scenes": len(detection_scenes),
        "persistence_recomputed": len(detection_scenes) / len(overpasses) if overpasses else None,
        "geometry": Point(point.x, point.y) if point is not None else None,
    }, plumes
