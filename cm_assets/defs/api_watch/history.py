"""The history of re-processed plumes: ``history/plume_versions.parquet`` under the data root."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cm_assets.storage import layout
from cm_assets.storage.store import Storage

HISTORY_PATH = layout.HISTORY
HISTORY_COLUMNS: dict[str, str] = {
    "plume_id": "string", "partition": "string",
    "old_emission_version": "string", "new_emission_version": "string",
    "old_emission_auto": "float64", "new_emission_auto": "float64",
    "detected_at": "datetime64[us, UTC]", "modified": "datetime64[us, UTC]",
}
_KEY = ["plume_id", "new_emission_version", "new_emission_auto", "modified"]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(HISTORY_COLUMNS)].astype(HISTORY_COLUMNS)


def read_history(storage: Storage) -> pd.DataFrame:
    """Every recorded change (an empty typed frame before the first)."""
    if not storage.exists(HISTORY_PATH):
        return _typed(pd.DataFrame(columns=list(HISTORY_COLUMNS)))
    return _typed(storage.read_parquet(HISTORY_PATH))


def append_history(storage: Storage, rows: Sequence[dict]) -> int:
    """Append change rows atomically, ignoring ones already recorded; returns how many were new."""
    if not rows:
        return 0
    old = read_history(storage)
    new = _typed(pd.DataFrame(list(rows)))
    merged = pd.concat([old, new], ignore_index=True).drop_duplicates(subset=_KEY, keep="first")
    added = len(merged) - len(old)
    if added:
        storage.write_parquet(merged.reset_index(drop=True), HISTORY_PATH)
    return added
