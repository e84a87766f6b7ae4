"""Statistics of one plume's products: mask, enhancement, outline areas and recomputed IME."""

from __future__ import annotations

import numpy as np
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from cm_assets import ime
from cm_assets.carbonmapper.geo import GeoArray

_GEOD = Geod(ellps="WGS84")


def geodesic_area_m2(geometry: BaseGeometry | None) -> float | None:
    """Area on the WGS84 ellipsoid of a lon/lat polygon (m²)."""
    if geometry is None or geometry.is_empty:
        return None
    return abs(_GEOD.geometry_area_perimeter(geometry)[0])


def pixel_area_m2(raster: GeoArray) -> float:
    return abs(raster.transform.a * raster.transform.e)


def mask_stats(mask: GeoArray | None) -> dict:
    """Plume-mask pixels: alpha (band 4) > 0 of plume.tif, or non-zero in a one-band mask."""
    if mask is None:
        return {}
    alpha = mask.values[3] if mask.values.shape[0] >= 4 else mask.values[0]
    return {"mask_pixels": int(np.count_nonzero(alpha))}


def concentration_stats(concentrations: GeoArray | None) -> dict:
    if concentrations is None:
        return {}
    values = concentrations.valid_values()
    finite = values[np.isfinite(values)]
    stats = {"concentrations_nodata_fraction": float(1 - finite.size / values.size) if values.size else 1.0}
    if finite.size:
        stats.update(max_enhancement=float(finite.max()), mean_enhancement=float(finite.mean()),
                     sum_enhancement=float(finite.sum()))
    return stats


def ime_stats(ime_concentrations: GeoArray | None, wind_speed: float | None, gas: str,
              instrument: str, emission_auto: float | None) -> dict:
    """IME (kg) and the emission recomputed with ``cm_assets.ime``, with its ratio to emission_auto."""
    if ime_concentrations is None:
        return {}
    values = ime_concentrations.valid_values()
    area = pixel_area_m2(ime_concentrations)
    stats = {"ime_pixels": int(np.isfinite(values).sum()), "pixel_area_m2": area,
             "ime_kg": ime.ime_kg(values, area, gas)}
    if wind_speed is not None and np.isfinite(wind_speed):
        emission = ime.emission_kg_h(values, area, wind_speed, gas, instrument)
        stats["emission_recomputed"] = emission
        if emission is not None and emission_auto:
            stats["emission_ratio"] = emission / emission_auto
    return stats
