"""Materialization metadata helpers: the markdown preview cut from a frame read out once."""

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from cm_assets.defs.metadata import Preview, preview_markdown

pytestmark = pytest.mark.fast


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "plume_id": pd.array(["a", "b", None, "d" * 60], dtype="string"),
        "emission_auto": [1234.5678, np.nan, 0.5, 2.0],
        "scene_timestamp": pd.to_datetime(["2026-03-04T17:21:07Z"] * 4, utc=True),
        "geometry": [Point(-103.9, 32.0), None, Point(1, 2), Point(3, 4)],
        "not_shown": [1, 2, 3, 4],
    })


def test_a_preview_of_chosen_rows_shows_them_in_order_with_short_cells(frame):
    preview = Preview(frame, ["plume_id", "emission_auto", "geometry", "absent"])
    assert preview.columns == ["plume_id", "emission_auto", "geometry"]
    assert preview.markdown([3, 0, 2]).splitlines() == [
        "| plume_id | emission_auto | geometry |",
        "|---|---|---|",
        f"| {'d' * 45}... | 2 | POINT (3 4) |",
        "| a | 1235 | POINT (-103.9 32) |",
        "|  | 0.5 | POINT (1 2) |",
    ]
    assert preview.markdown(np.array([1]), limit=1).splitlines()[2] == "| b |  |  |"
    assert preview.markdown([]) == "_no rows_"


def test_the_head_preview_is_the_preview_of_the_first_rows(frame):
    columns = ["plume_id", "scene_timestamp"]
    assert preview_markdown(frame, columns, rows=2) == Preview(frame, columns).markdown([0, 1])
    assert "2026-03-04 17:21:07+00:00" in preview_markdown(frame, columns)
    assert len(preview_markdown(frame, columns, rows=3).splitlines()) == 2 + 3
    assert preview_markdown(frame.iloc[:0], columns) == "_no rows_"
