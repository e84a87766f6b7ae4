"""The history table: typed, atomic, idempotent appends."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import duckdb
import pytest

from cm_assets.defs.api_watch.history import HISTORY_COLUMNS, HISTORY_PATH, append_history, read_history
from cm_assets.storage.store import Storage

pytestmark = pytest.mark.fast

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def row(plume: str, new_version: str, modified: datetime, new_auto: float = 120.0) -> dict:
    return {"plume_id": plume, "partition": "2026-05-20", "old_emission_version": "v3d",
            "new_emission_version": new_version, "old_emission_auto": 100.0,
            "new_emission_auto": new_auto, "detected_at": NOW, "modified": modified}


def test_append_is_idempotent_and_keeps_every_version(tmp_path) -> None:
    storage = Storage(str(tmp_path))
    assert read_history(storage).empty
    first = row("emi20260520t101010p00001-A", "v3e", datetime(2026, 5, 31, tzinfo=UTC))
    assert append_history(storage, [first]) == 1
    assert append_history(storage, [first]) == 0
    second = row("emi20260520t101010p00001-A", "v3f", datetime(2026, 6, 1, tzinfo=UTC), math.nan)
    assert append_history(storage, [second, first]) == 1
    frame = read_history(storage)
    assert list(frame.columns) == list(HISTORY_COLUMNS)
    assert frame["new_emission_version"].tolist() == ["v3e", "v3f"]
    assert not list(tmp_path.joinpath("history").glob(".*tmp"))
    described = duckdb.connect().execute(
        f"DESCRIBE SELECT * FROM read_parquet('{tmp_path / HISTORY_PATH}')").fetchall()
    types = {name: kind for name, kind, *_ in described}
    assert types["modified"] == "TIMESTAMP WITH TIME ZONE" and types["new_emission_auto"] == "DOUBLE"
