"""Sources without I/O: regional query boxes and attribution (per-source statistics:
:mod:`cm_assets.reports.source_profile`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from pyproj import Geod

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
