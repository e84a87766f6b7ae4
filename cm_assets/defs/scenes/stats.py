"""Statistics of one plume's L2B crops: shape, resolution, artifact overlap, signal/uncertainty."""

from __future__ import annotations

import numpy as np
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry


def outline_pixels(raster: GeoArray, outline: BaseGeometry) -> np.ndarray:
    """Boolean grid of ``raster``: True where a pixel centre lies inside the lon/lat ``outline``."""
    geom = reproject_geometry(outline, "EPSG:4326", raster.crs)
    return geometry_mask([geom], out_shape=raster.values.shape[1:], transform=raster.transform, invert=True)


def crop_stats(cmf: GeoArray, uncertainty: GeoArray | None, artifact: GeoArray | None,
               outline: BaseGeometry) -> dict:
    values = cmf.valid_values()
    inside = outline_pixels(cmf, outline)
    out = {"crop_height": int(values.shape[0]), "crop_width": int(values.shape[1]),
           "resolution_m": float(abs(cmf.transform.a)), "crs": str(cmf.crs),
           "cmf_nodata_fraction": float(np.isnan(values).mean())}
    if artifact is not None and artifact.values.shape[1:] == values.shape and inside.any():
        out["artifact_fraction"] = float((artifact.values[0][inside] > 0).mean())
    if uncertainty is not None and uncertainty.values.shape[1:] == values.shape and inside.any():
        sigma = uncertainty.valid_values()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sigma > 0, values / sigma, np.nan)[inside]
        ratio = ratio[np.isfinite(ratio)]
        if ratio.size:
            out.update(snr_max=float(ratio.max()), snr_mean=float(ratio.mean()))
    return out
