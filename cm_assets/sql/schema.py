"""Column schemas of every warehouse table: one source for Parquet writing, empty views and UI docs."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

# The stored plume record: column -> DuckDB type; GEOMETRY columns are stored as GeoParquet WKB in EPSG:4326.
PLUME_COLUMN_TYPES: dict[str, str] = {
    "id": "VARCHAR", "plume_id": "VARCHAR", "gas": "VARCHAR", "scene_id": "VARCHAR",
    "scene_timestamp": "TIMESTAMPTZ", "instrument": "VARCHAR", "mission_phase": "VARCHAR",
    "platform": "VARCHAR", "emission_auto": "DOUBLE", "emission_uncertainty_auto": "DOUBLE",
    "emission_cmf_type": "VARCHAR", "cmf_type": "VARCHAR", "gsd": "DOUBLE",
    "sensitivity_mode": "VARCHAR", "off_nadir": "DOUBLE", "plume_tif": "VARCHAR", "con_tif": "VARCHAR",
    "plume_png": "VARCHAR", "rgb_png": "VARCHAR", "plume_rgb_png": "VARCHAR",
    "plume_quality": "VARCHAR", "wind_speed_avg_auto": "DOUBLE", "wind_direction_avg_auto": "DOUBLE",
    "emission_version": "VARCHAR", "processing_software": "VARCHAR", "publication_sources": "VARCHAR",
    "is_offshore": "BOOLEAN", "collection": "VARCHAR", "sector": "VARCHAR", "status": "VARCHAR",
    "hide_emission": "BOOLEAN", "published_at": "TIMESTAMPTZ", "modified": "TIMESTAMPTZ",
}

TABLES: dict[str, dict[str, str]] = {
    "plumes": {
        **PLUME_COLUMN_TYPES,
        "observation_day": "VARCHAR", "scene_name": "VARCHAR", "instrument_name": "VARCHAR",
        "lon": "DOUBLE", "lat": "DOUBLE", "wind_u": "DOUBLE", "wind_v": "DOUBLE",
        "bounds_west": "DOUBLE", "bounds_south": "DOUBLE", "bounds_east": "DOUBLE", "bounds_north": "DOUBLE",
        "geometry": "GEOMETRY",
    },
    "quarantine": {
        "plume_id": "VARCHAR", "field": "VARCHAR", "reason": "VARCHAR", "payload": "VARCHAR",
        "partition": "VARCHAR", "quarantined_at": "TIMESTAMPTZ",
    },
    "plume_products": {
        "plume_id": "VARCHAR", "observation_day": "VARCHAR", "emission_version": "VARCHAR",
        "mask_path": "VARCHAR", "concentrations_path": "VARCHAR", "ime_concentrations_path": "VARCHAR",
        "ime_mask_path": "VARCHAR", "rgb_path": "VARCHAR", "outline_path": "VARCHAR",
        "ime_outline_path": "VARCHAR", "missing_assets": "VARCHAR", "n_missing": "INTEGER",
        "mask_pixels": "INTEGER", "max_enhancement": "DOUBLE", "mean_enhancement": "DOUBLE",
        "sum_enhancement": "DOUBLE", "ime_pixels": "INTEGER", "ime_kg": "DOUBLE",
        "outline_area_m2": "DOUBLE", "ime_outline_area_m2": "DOUBLE", "pixel_area_m2": "DOUBLE",
        "emission_auto": "DOUBLE", "emission_recomputed": "DOUBLE", "emission_ratio": "DOUBLE",
        "concentrations_nodata_fraction": "DOUBLE", "quicklook_png": "VARCHAR", "error": "VARCHAR",
        "geometry": "GEOMETRY", "ime_geometry": "GEOMETRY",
    },
    "scene_crops": {
        "plume_id": "VARCHAR", "observation_day": "VARCHAR", "scene_name": "VARCHAR",
        "status": "VARCHAR", "collection": "VARCHAR", "reason": "VARCHAR", "checked_at": "TIMESTAMPTZ",
        "pad_px": "INTEGER", "cmf_path": "VARCHAR", "uncertainty_path": "VARCHAR", "rgb_path": "VARCHAR",
        "artifact_mask_path": "VARCHAR", "crop_height": "INTEGER", "crop_width": "INTEGER",
        "resolution_m": "DOUBLE", "crs": "VARCHAR", "cmf_nodata_fraction": "DOUBLE",
        "artifact_fraction": "DOUBLE", "snr_max": "DOUBLE", "snr_mean": "DOUBLE",
        "comparison_png": "VARCHAR", "geometry": "GEOMETRY",
    },
    "sources": {
        "source_name": "VARCHAR", "gas": "VARCHAR", "sector": "VARCHAR", "eps_m": "DOUBLE",
        "lon": "DOUBLE", "lat": "DOUBLE", "plume_count": "INTEGER", "persistence": "DOUBLE",
        "emission_auto": "DOUBLE", "emission_uncertainty_auto": "DOUBLE", "geometry": "GEOMETRY",
    },
    "plume_sources": {"plume_id": "VARCHAR", "source_name": "VARCHAR", "distance_m": "DOUBLE"},
    "source_stats": {
        "source_name": "VARCHAR", "gas": "VARCHAR", "sector": "VARCHAR", "lon": "DOUBLE", "lat": "DOUBLE",
        "detections": "INTEGER", "distinct_days": "INTEGER", "first_detection": "TIMESTAMPTZ",
        "last_detection": "TIMESTAMPTZ", "emission_median": "DOUBLE", "emission_p90": "DOUBLE",
        "emission_max": "DOUBLE", "with_emission": "INTEGER", "emission_mean": "DOUBLE",
        "emission_std": "DOUBLE", "emission_min": "DOUBLE", "emission_p99": "DOUBLE",
        "sensor_mix": "VARCHAR", "cm_persistence": "DOUBLE",
        "site_emission": "DOUBLE", "overpasses": "INTEGER", "detection_scenes": "INTEGER",
        "persistence_recomputed": "DOUBLE", "timeline_png": "VARCHAR", "geometry": "GEOMETRY",
    },
    "plume_history": {
        "plume_id": "VARCHAR", "partition": "VARCHAR",
        "old_emission_version": "VARCHAR", "new_emission_version": "VARCHAR",
        "old_emission_auto": "DOUBLE", "new_emission_auto": "DOUBLE",
        "detected_at": "TIMESTAMPTZ", "modified": "TIMESTAMPTZ",
    },
}


def geometry_columns(table: str) -> list[str]:
    return [name for name, kind in TABLES[table].items() if kind == "GEOMETRY"]


_PANDAS = {"VARCHAR": "string", "DOUBLE": "float64", "INTEGER": "Int64", "BOOLEAN": "boolean"}


def _as_text(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _typed(column: pd.Series | None, kind: str, rows: int) -> object:
    if kind == "GEOMETRY":
        return gpd.GeoSeries(column.values if column is not None else [None] * rows, crs="EPSG:4326")
    if column is None:
        return pd.Series([None] * rows, dtype=_PANDAS.get(kind, "datetime64[us, UTC]"))
    if kind == "TIMESTAMPTZ":
        return pd.to_datetime(column, utc=True, errors="coerce").astype("datetime64[us, UTC]")
    if kind == "VARCHAR":
        return (column.map(_as_text) if column.dtype == object else column).astype("string")
    if kind == "BOOLEAN":
        return column.astype("boolean")
    return pd.to_numeric(column, errors="coerce").astype(_PANDAS[kind])


def conform(frame: pd.DataFrame, table: str) -> gpd.GeoDataFrame:
    """Columns of ``table`` in order and type (missing ones null), so every partition has one schema."""
    data = frame.reset_index(drop=True)
    columns = {name: _typed(data[name] if name in data else None, kind, len(data))
               for name, kind in TABLES[table].items()}
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(data)))
    geoms = geometry_columns(table)
    if geoms:
        return gpd.GeoDataFrame(out, geometry=geoms[0], crs="EPSG:4326")
    return out

