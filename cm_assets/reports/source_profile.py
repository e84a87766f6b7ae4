"""A source's profile from its detail (every attributed plume) and the overpasses over it: counts,
date span, emission distribution, sensor mix, Carbon Mapper's aggregates next to recomputed ones."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
from shapely.geometry import Point

from cm_assets.carbonmapper.models import as_utc

#: Profile fields in report order, with their labels (the ``source_stats`` columns of the same name).
PROFILE_FIELDS: dict[str, str] = {
    "detections": "detections", "with_emission": "with emission", "distinct_days": "distinct days",
    "first_detection": "first detection", "last_detection": "last detection",
    "emission_mean": "emission mean (kg/h)", "emission_std": "emission std (kg/h)",
    "emission_min": "emission min (kg/h)", "emission_median": "emission median (kg/h)",
    "emission_p90": "emission p90 (kg/h)", "emission_p99": "emission p99 (kg/h)",
    "emission_max": "emission max (kg/h)", "sensor_mix": "sensor mix",
    "overpasses": "overpasses covering the source", "detection_scenes": "scenes with a detection",
}


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def detections(detail) -> pd.DataFrame:
    """One row per attributed plume: id, scene, time, instrument, emission."""
    return pd.DataFrame([{"plume_id": p.plume_id, "scene_name": p.scene_name,
                          "scene_timestamp": p.scene_timestamp, "instrument": str(p.instrument or ""),
                          "emission_auto": p.emission_auto} for p in detail.plumes],
                        columns=["plume_id", "scene_name", "scene_timestamp", "instrument", "emission_auto"])


def emission_stats(values: np.ndarray) -> dict[str, float | None]:
    """Mean, sample std, min, median, p90, p99 and max of the emissions ``values`` that are not NaN
    (None when there are none); quantiles interpolate linearly, as pandas does."""
    values = values[~np.isnan(values)]
    if not len(values):
        return dict.fromkeys(["emission_mean", "emission_std", "emission_min", "emission_median",
                              "emission_p90", "emission_p99", "emission_max"])
    p50, p90, p99 = np.quantile(values, [0.5, 0.9, 0.99])
    return {"emission_mean": _finite(values.mean()),
            "emission_std": _finite(values.std(ddof=1)) if len(values) > 1 else None,
            "emission_min": _finite(values.min()), "emission_median": _finite(p50),
            "emission_p90": _finite(p90), "emission_p99": _finite(p99),
            "emission_max": _finite(values.max())}


def covering_scenes(point: Point | None, footprints: pd.DataFrame) -> set[str]:
    """Names of the footprints (name, west, south, east, north) whose box holds ``point``
    (compared as arrays: a run has tens of thousands of footprints and as many sources)."""
    if point is None or footprints.empty:
        return set()
    x, y = point.x, point.y
    inside = ((footprints["west"].to_numpy() <= x) & (footprints["east"].to_numpy() >= x)
              & (footprints["south"].to_numpy() <= y) & (footprints["north"].to_numpy() >= y))
    return set(footprints["name"].iloc[np.flatnonzero(inside)])


def source_profile(detail, footprints: pd.DataFrame) -> dict:
    """The profile row of one source, from its detail's plumes (read as plain lists: a run profiles
    every source, and a data frame per source cost more than the rest). Persistence is recomputed as
    detection scenes / overpasses whose footprint covers the source point (plus the detail's own
    scenes), next to Carbon Mapper's ``persistence`` and site ``emission_auto``."""
    plumes = detail.plumes
    times = [as_utc(p.scene_timestamp) for p in plumes if p.scene_timestamp is not None]
    emissions = np.array([np.nan if p.emission_auto is None else p.emission_auto for p in plumes], dtype=float)
    point = detail.point
    detection_scenes = {p.scene_name for p in plumes}
    overpasses = covering_scenes(point, footprints) | {s.name for s in detail.scenes} | detection_scenes
    return {
        "source_name": detail.source_name, "gas": detail.gas, "sector": detail.sector,
        "lon": point.x if point is not None else None, "lat": point.y if point is not None else None,
        "detections": len(plumes), "with_emission": int((~np.isnan(emissions)).sum()),
        "distinct_days": len({t.date() for t in times}),
        "first_detection": pd.Timestamp(min(times)) if times else None,
        "last_detection": pd.Timestamp(max(times)) if times else None,
        **emission_stats(emissions),
        "sensor_mix": dict(Counter(str(p.instrument or "") for p in plumes).most_common()),
        "cm_persistence": detail.persistence, "site_emission": detail.emission_auto,
        "overpasses": len(overpasses), "detection_scenes": len(detection_scenes),
        "persistence_recomputed": len(detection_scenes) / len(overpasses) if overpasses else None,
        "geometry": Point(point.x, point.y) if point is not None else None,
    }


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "—"
    if isinstance(value, str) and value.startswith("{"):
        return _cell(json.loads(value))
    return str(value)


def profile_markdown(row: dict) -> str:
    """The profile as markdown: the recomputed figures, then Carbon Mapper's next to ours."""
    where = (f" · point ({row['lon']:.5f}, {row['lat']:.5f})"
             if row.get("lon") is not None and row.get("lat") is not None else "")
    lines = [f"### {row['source_name']}", "",
             f"sector {_cell(row.get('sector'))} · gas {_cell(row.get('gas'))}{where}", "",
             "| measure | value |", "|---|---|"]
    lines += [f"| {label} | {_cell(row.get(key))} |" for key, label in PROFILE_FIELDS.items()]
    lines += ["", "| | Carbon Mapper | recomputed |", "|---|---|---|",
              f"| persistence | {_cell(row.get('cm_persistence'))} | {_cell(row.get('persistence_recomputed'))} |",
              f"| site emission (kg/h) | {_cell(row.get('site_emission'))} | "
              f"{_cell(row.get('emission_mean'))} (mean of detections) |"]
    return "\n".join(lines) + "\n"
