"""What the pipeline already materialized for a plume, read read-only from the DuckDB warehouse."""

from __future__ import annotations

import os
from pathlib import Path

from cm_assets.sql.query import run_query

PRODUCT_COLUMNS = ("mask_path", "concentrations_path", "ime_concentrations_path", "rgb_path", "outline_path")
CROP_COLUMNS = ("cmf_path", "rgb_path", "uncertainty_path")


def _row(database: Path, query: str, params: list) -> dict | None:
    columns, rows = run_query(database, query, params)
    return dict(zip(columns, rows[0])) if rows else None


def _existing(row: dict | None, columns: tuple[str, ...]) -> dict[str, str] | None:
    """The row's paths when every non-null one is a local file that still exists."""
    if row is None:
        return None
    paths = {c: row[c] for c in columns if row.get(c)}
    return paths if paths and all(os.path.exists(p) for p in paths.values()) else None


def stored_products(database: Path | None, plume_id: str, emission_version: str | None) -> dict[str, str] | None:
    """Local paths of the plume's stored L3A products of this ``emission_version``, or None."""
    if database is None or not database.exists():
        return None
    row = _row(database, f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM plume_products "
               "WHERE plume_id = ? AND emission_version IS NOT DISTINCT FROM ? AND error IS NULL",
               [plume_id, emission_version])
    return _existing(row, PRODUCT_COLUMNS)


def stored_crops(database: Path | None, plume_id: str, pad_px: int) -> dict[str, str] | None:
    """Local paths of the plume's stored L2B crops made with ``pad_px``, or None."""
    if database is None or not database.exists():
        return None
    row = _row(database, f"SELECT {', '.join(CROP_COLUMNS)} FROM scene_crops "
               "WHERE plume_id = ? AND status = 'ok' AND pad_px = ?", [plume_id, pad_px])
    return _existing(row, CROP_COLUMNS)
