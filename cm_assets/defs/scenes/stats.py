"""Statistics of one plume's L2B crops: shape, resolution, artifact overlap, signal/uncertainty."""

from __future__ import annotations

import numpy as np
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.geo import GeoArray


def crop_stats(cmf: GeoArray, uncertainty: GeoArray | None, artifact: GeoArray | None,
               outline: BaseGeometry) -> dict:
    values = cmf.valid_values()
    inside = cmf.pixels_inside(outline)
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
