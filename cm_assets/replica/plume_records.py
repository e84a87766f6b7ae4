"""Plume records as the API serves them: PlumeAnnotatedOut JSON and ``plume-csv`` rows.

* A URL field is null when its asset is missing for the plume (``missing_assets``) or its
  family does not exist (legacy ``l3a-ch4-mf-v1`` plumes have no ``con_tif``).
* ``publication_sources`` is ``["Carbon Mapper"]``; ``platform`` uses the web-app labels.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from cm_assets.replica.drift import apply_to_record
from cm_assets.replica.plume_window import plume_bounds
from cm_assets.replica.product_files import asset_path
from cm_assets.replica.timestamps import iso
from cm_assets.replica.world import World

AssetUrl = Callable[[str], str]
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


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


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
