"""Data-quality rules behind the asset checks (pure functions on frames, testable on any data)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
import shapely
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from cm_assets.sql.schema import TABLES

REQUIRED_PLUME_FIELDS = ("id", "plume_id", "gas", "scene_timestamp", "instrument", "geometry")
IME_TOLERANCE = 0.05
MAX_NODATA_FRACTION = 0.95
MAX_ARTIFACT_FRACTION = 0.10

#: What each check means, as the UI shows it.
DESCRIPTIONS = {
    "schema": "Every column of the table is present and the required ones (id, plume_id, gas, "
              "scene_timestamp, instrument, geometry) are never null. Blocking: downstream assets of "
              "the run do not start on a table that fails it.",
    "unique_plume_ids": "No plume_id appears twice across every stored day. Blocking (ERROR) when the stored "
                        "days hold a duplicate; a WARN when the API sent differing copies of one plume that "
                        "were quarantined (the stored days are clean).",
    "valid_geometries": "Plume points are non-empty, valid and inside lon/lat ranges.",
    "non_negative_emissions": "Emission rates and their uncertainties are finite and >= 0 where present.",
    "valid_outlines": "Plume outlines (mask and IME) are non-empty, valid and inside lon/lat ranges.",
    "raster_nodata_fraction": f"No stored plume raster is more than {MAX_NODATA_FRACTION:.0%} nodata.",
    "ime_agreement": f"The emission recomputed from the IME rasters agrees with emission_auto within "
                     f"{IME_TOLERANCE:.0%} (WARN).",
    "crop_nodata_fraction": f"No stored L2B crop is more than {MAX_NODATA_FRACTION:.0%} nodata.",
    "artifact_overlap": f"The scene's artifact mask covers at most {MAX_ARTIFACT_FRACTION:.0%} of the plume "
                        "outline (WARN).",
}
BLOCKING = frozenset({"schema", "unique_plume_ids"})


def check_specs(asset: str, names: Sequence[str]) -> list[AssetCheckSpec]:
    """The specs of ``asset``'s checks, with their descriptions; blocking where a failure means bad
    data downstream."""
    return [AssetCheckSpec(name, asset=asset, description=DESCRIPTIONS[name], blocking=name in BLOCKING)
            for name in names]


def _listing(values: Sequence[str], limit: int = 20) -> MetadataValue:
    shown = ", ".join(map(str, list(values)[:limit]))
    return MetadataValue.text(shown + (f" ... (+{len(values) - limit})" if len(values) > limit else ""))


def check_schema(frame: pd.DataFrame, table: str, required: Sequence[str],
                 columns: Collection[str] | None = None) -> AssetCheckResult:
    """Every column of ``table`` is present (in ``columns``, default the frame's: a caller may keep
    only the columns its checks read) and the required ones are never null."""
    present = frame.columns if columns is None else columns
    missing = [c for c in TABLES[table] if c not in present]
    nulls = {c: int(frame[c].isna().sum()) for c in required if c in frame.columns and frame[c].isna().any()}
    return AssetCheckResult(check_name="schema", passed=not missing and not nulls,
                            metadata={"missing_columns": _listing(missing),
                                      "null_required": MetadataValue.json(nulls)})


def check_unique_ids(plume_ids: pd.Series, conflicting: int = 0) -> AssetCheckResult:
    """No plume_id appears twice across every partition of the catalog (ERROR), and no response of
    this run held differing copies of one plume_id (``conflicting``: those quarantined; WARN, the
    stored days are clean)."""
    counts = plume_ids.value_counts()
    dupes = counts[counts > 1]
    return AssetCheckResult(check_name="unique_plume_ids", passed=dupes.empty and conflicting == 0,
                            severity=AssetCheckSeverity.ERROR if len(dupes) else AssetCheckSeverity.WARN,
                            metadata={"plumes": len(plume_ids), "duplicates": len(dupes),
                                      "duplicate_ids": _listing(list(dupes.index)),
                                      "conflicting_copies_quarantined": conflicting})


def check_geometries(frame: pd.DataFrame, columns: Sequence[str] = ("geometry",),
                     check_name: str = "valid_geometries") -> AssetCheckResult:
    """Geometries are non-empty, valid and inside lon/lat ranges (nulls only where allowed)."""
    bad: list[str] = []
    for column in columns:
        if column not in frame:
            continue
        geoms = frame[column].dropna()
        arr = geoms.values if hasattr(geoms, "values") else geoms
        invalid = ~shapely.is_valid(arr) | shapely.is_empty(arr)
        bounds = shapely.bounds(arr)
        outside = (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
        ids = frame.loc[geoms.index, "plume_id"] if "plume_id" in frame else geoms.index.astype(str)
        bad += list(ids[invalid | outside])
    return AssetCheckResult(check_name=check_name, passed=not bad,
                            metadata={"invalid": len(bad), "invalid_ids": _listing(bad)})


def check_non_negative(frame: pd.DataFrame, columns: Sequence[str]) -> AssetCheckResult:
    """Emission values and their uncertainties are finite and >= 0 where present: negatives, ±inf
    and NaN fail, null passes. In a float64 column NaN *is* null (that is how the catalog stores
    it), so there NaN passes; records sending NaN are quarantined at parse time before that."""
    bad = set()
    for column in columns:
        if column in frame:
            nan_is_null = frame[column].dtype.kind == "f"
            flags = [_impossible_emission(v, nan_is_null) for v in frame[column].astype(object)]
            bad |= set(frame.loc[flags, "plume_id"])
    return AssetCheckResult(check_name="non_negative_emissions", passed=not bad,
                            metadata={"negative": len(bad), "negative_ids": _listing(sorted(bad))})


def _impossible_emission(value: object, nan_is_null: bool) -> bool:
    if value is None or value is pd.NA or (nan_is_null and isinstance(value, float) and np.isnan(value)):
        return False
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    return not (np.isfinite(number) and number >= 0)


def check_nodata(frame: pd.DataFrame, column: str, check_name: str) -> AssetCheckResult:
    """No stored raster is (almost) all nodata."""
    values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
    bad = frame.loc[values.index[values > MAX_NODATA_FRACTION], "plume_id"] if len(values) else []
    return AssetCheckResult(check_name=check_name, passed=len(bad) == 0,
                            metadata={"max_nodata_fraction": float(values.max()) if len(values) else 0.0,
                                      "threshold": MAX_NODATA_FRACTION, "over_threshold": len(bad),
                                      "ids": _listing(list(bad))})


def check_ime_agreement(frame: pd.DataFrame) -> AssetCheckResult:
    """Emission recomputed from the IME rasters agrees with ``emission_auto`` within 5 % (WARN)."""
    ratios = frame["emission_ratio"].dropna() if "emission_ratio" in frame else pd.Series(dtype=float)
    off = ratios[(ratios - 1).abs() > IME_TOLERANCE]
    ids = list(frame.loc[off.index, "plume_id"])
    return AssetCheckResult(check_name="ime_agreement", passed=off.empty, severity=AssetCheckSeverity.WARN,
                            metadata={"compared": len(ratios), "disagreeing": len(off),
                                      "tolerance": IME_TOLERANCE, "disagreeing_ids": _listing(ids)})


def check_artifact_overlap(frame: pd.DataFrame) -> AssetCheckResult:
    """The scene's artifact mask covers at most 10 % of the plume outline (WARN)."""
    fractions = frame["artifact_fraction"].dropna() if "artifact_fraction" in frame else pd.Series(dtype=float)
    over = fractions[fractions > MAX_ARTIFACT_FRACTION]
    return AssetCheckResult(check_name="artifact_overlap", passed=over.empty, severity=AssetCheckSeverity.WARN,
                            metadata={"checked": len(fractions), "overlapping": len(over),
                                      "threshold": MAX_ARTIFACT_FRACTION,
                                      "ids": _listing(list(frame.loc[over.index, "plume_id"]))})
