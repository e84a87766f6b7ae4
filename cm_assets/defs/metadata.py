"""Materialization metadata shared by the assets: row counts, column schema, previews, pictures."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from dagster import MetadataValue, TableColumn, TableSchema

from cm_assets.carbonmapper.errors import describe
from cm_assets.defs import figures
from cm_assets.reports import plots
from cm_assets.sql.schema import TABLES

PREVIEW_ROWS = 10


class Preview:
    """The ``columns`` of ``frame`` read out once, from which the markdown preview of any of its
    rows is cut without pandas indexing (a backfill previews thousands of days of one frame)."""

    def __init__(self, frame: pd.DataFrame, columns: list[str]) -> None:
        self.columns = [c for c in columns if c in frame]
        self.values = {name: frame[name].tolist() for name in self.columns}

    def markdown(self, rows: Sequence[int], limit: int = PREVIEW_ROWS) -> str:
        """Rows ``rows`` (positions; the first ``limit``) as a markdown table."""
        shown = rows[:limit]
        if not len(shown):
            return "_no rows_"
        header = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "---|" * len(self.columns)
        body = ["| " + " | ".join(_short(self.values[name][i]) for name in self.columns) + " |" for i in shown]
        return "\n".join([header, rule, *body])


def preview_markdown(frame: pd.DataFrame, columns: list[str], rows: int = PREVIEW_ROWS) -> str:
    """The head of ``frame`` as a markdown table (selected columns, geometry as WKT prefix)."""
    head = frame.head(rows)
    return Preview(head, columns).markdown(range(len(head)), rows)


def _short(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "wkt"):
        return value.wkt[:40]
    text = str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def table_schema(table: str) -> TableSchema:
    """The Dagster TableSchema of warehouse ``table`` (for dagster/column_schema metadata)."""
    return TableSchema(columns=[TableColumn(name, kind.lower()) for name, kind in TABLES[table].items()])


def table_metadata(frame: pd.DataFrame, table: str, preview_columns: list[str]) -> dict[str, Any]:
    """Row count, column schema and a markdown preview for a table materialization."""
    return {
        "dagster/row_count": MetadataValue.int(len(frame)),
        "dagster/column_schema": table_schema(table),
        "preview": MetadataValue.md(preview_markdown(frame, preview_columns)),
    }


def embedded_png(png: bytes, caption: str) -> MetadataValue:
    """A markdown value that renders ``png`` inline in the materialization view."""
    encoded = base64.b64encode(png).decode("ascii")
    return MetadataValue.md(f"**{caption}**\n\n![{caption}](data:image/png;base64,{encoded})")


def top_picture(frame: pd.DataFrame, png_column: str, rank_column: str = "emission_auto") -> int | None:
    """Position of the row with the most significant picture: the highest ``rank_column`` among
    the rows with a picture (the first of them when none is ranked); None without pictures."""
    if frame.empty or png_column not in frame:
        return None
    pictured = frame[png_column].notna().to_numpy()
    if not pictured.any():
        return None
    if rank_column in frame:
        rank = pd.to_numeric(frame[rank_column], errors="coerce").to_numpy(dtype=float)
        ranked = np.flatnonzero(pictured & ~np.isnan(rank))
        if len(ranked):
            return int(ranked[np.argmax(rank[ranked])])
    return int(np.argmax(pictured))


class PicturePreviews:
    """Each table's most significant picture (see :func:`top_picture`; a table per day, or one for
    an unpartitioned asset) and a thumbnail of it, made as the table is assembled, on the figure
    workers if they run: the step's metadata, written at its end, then decodes no picture on the
    run's own process. Metadata keys ``{name}_top`` and ``{name}_preview`` (``name``: the picture
    column by default); the caption names the row by ``label_column``."""

    def __init__(self, png_column: str, caption: str, log: logging.Logger, rank_column: str = "emission_auto",
                 workers: int | None = figures.FIGURE_WORKERS, label_column: str = "plume_id",
                 name: str | None = None) -> None:
        self.png_column, self.caption, self.rank_column, self.workers = png_column, caption, rank_column, workers
        self.label_column, self.name = label_column, name or png_column
        self._log = log
        self._pending: dict[str | None, tuple[str, str, figures.PendingFigure]] = {}

    def add(self, day: str | None, table: pd.DataFrame) -> None:
        """Start the thumbnail of the most significant picture of ``day``'s ``table`` (None: the
        asset's only table)."""
        top = top_picture(table, self.png_column, self.rank_column)
        if top is not None:
            path = str(table[self.png_column].iloc[top])
            self._pending[day] = (table[self.label_column].iloc[top], path, figures.render(
                path, plots.file_thumbnail, path, workers=self.workers, start=False))

    def metadata(self, day: str | None) -> dict:
        """A link to ``day``'s most significant picture and its thumbnail embedded ({} without a
        picture; the link alone if the thumbnail failed)."""
        if day not in self._pending:
            return {}
        label, path, thumbnail = self._pending.pop(day)
        metadata = {f"{self.name}_top": MetadataValue.path(path)}
        try:
            metadata[f"{self.name}_preview"] = embedded_png(thumbnail.result(), f"{self.caption}: {label}")
        except Exception as error:  # a preview never fails the step
            self._log.warning(f"{path}: no thumbnail for the metadata: {describe(error)}")
        return metadata
