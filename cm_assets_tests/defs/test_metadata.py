"""Materialization metadata helpers: the markdown preview cut from a frame read out once; each day's
most significant picture and its thumbnail."""

import base64
import io
import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import Point

from cm_assets.defs.metadata import PicturePreviews, Preview, preview_markdown, top_picture

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


def test_the_top_picture_is_the_highest_ranked_row_with_a_picture():
    frame = pd.DataFrame({"png": ["a.png", None, "c.png", "d.png"], "emission_auto": [5.0, 99.0, np.nan, 7.0],
                          "snr_max": [1.0, 2.0, 3.0, np.nan]})
    assert top_picture(frame, "png") == 3  # 99 has no picture, NaN is not ranked
    assert top_picture(frame, "png", "snr_max") == 2
    assert top_picture(frame.assign(emission_auto=np.nan), "png") == 0  # none ranked: the first pictured
    assert top_picture(frame, "png", "absent") == 0
    assert top_picture(frame.assign(png=None), "png") is None
    assert top_picture(frame, "other_png") is None and top_picture(frame.head(0), "png") is None


def test_a_days_preview_links_its_top_picture_and_embeds_a_thumbnail(tmp_path, caplog):
    picture = tmp_path / "top.png"
    Image.new("RGB", (960, 300), "red").save(picture)
    table = pd.DataFrame({"plume_id": ["p1", "p2"], "png": [str(picture), str(tmp_path / "gone.png")],
                          "emission_auto": [10.0, 1.0]})
    previews = PicturePreviews("png", "Quick-look", logging.getLogger("t"), workers=0)
    previews.add("2026-03-04", table)
    previews.add("2026-03-05", table.assign(emission_auto=[1.0, 10.0]))  # its top picture is missing
    previews.add("2026-03-06", table.assign(png=None))
    metadata = previews.metadata("2026-03-04")
    assert metadata["png_top"].value == str(picture)
    encoded = metadata["png_preview"].value.split("base64,")[1].rstrip(")")
    assert metadata["png_preview"].value.startswith("**Quick-look: p1**")
    assert Image.open(io.BytesIO(base64.b64decode(encoded))).size == (480, 150)
    with caplog.at_level(logging.WARNING):
        missing = previews.metadata("2026-03-05")  # a failed thumbnail costs the preview, not the step
    assert missing["png_top"].value.endswith("gone.png") and "png_preview" not in missing
    assert "no thumbnail" in caplog.text
    assert previews.metadata("2026-03-06") == {} and previews.metadata("2026-03-04") == {}  # handed out once


def test_an_unpartitioned_tables_preview_has_the_name_and_label_asked_for(tmp_path):
    picture = tmp_path / "timeline.png"
    Image.new("RGB", (800, 304), "blue").save(picture)
    table = pd.DataFrame({"source_name": ["s1", "s2"], "timeline_png": [None, str(picture)],
                          "site_emission": [90.0, 40.0]})
    previews = PicturePreviews("timeline_png", "Emission timeline", logging.getLogger("t"),
                               rank_column="site_emission", workers=0, label_column="source_name", name="timeline")
    previews.add(None, table)
    metadata = previews.metadata(None)
    assert set(metadata) == {"timeline_top", "timeline_preview"}
    assert metadata["timeline_top"].value == str(picture)
    assert metadata["timeline_preview"].value.startswith("**Emission timeline: s2**")
