"""Materialization metadata shared by the assets: row counts, column schema, previews, pictures."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pandas as pd
from dagster import MetadataValue, TableColumn, TableSchema

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


def picture_metadata(frame: pd.DataFrame, png_column: str, caption: str) -> dict:
    """Link to the most significant picture and embed a small copy of it."""
    if frame.empty or png_column not in frame or frame[png_column].isna().all():
        return {}
    ranked = frame.dropna(subset=[png_column])
    if "emission_auto" in ranked and ranked["emission_auto"].notna().any():
        ranked = ranked.sort_values("emission_auto", ascending=False, na_position="last")
    top = ranked.iloc[0]
    with open(top[png_column], "rb") as fh:
        png = fh.read()
    return {f"{png_column}_top": MetadataValue.path(top[png_column]),
            f"{png_column}_preview": embedded_png(plots.thumbnail(png), f"{caption}: {top['plume_id']}")}
