"""Export plumes, plume outlines, sources and crop footprints from the DuckDB warehouse (opened
read-only) to GDAL vector formats, written with pyogrio (GDAL's own drivers, as QGIS reads them).

GeoPackage gets one file with four layers; FlatGeobuf and GeoJSON (one layer per file by design)
get one file per layer. Every file is written under a temporary name and renamed, so a failed
export leaves no partial file."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from cm_assets.sql.query import connect_read_only

FORMATS: dict[str, tuple[str, str]] = {"gpkg": ("GPKG", ".gpkg"), "fgb": ("FlatGeobuf", ".fgb"),
                                       "geojson": ("GeoJSON", ".geojson")}
#: The filter every layer follows: the ``plumes`` rows matching the user's predicate.
_SELECTED = "SELECT plume_id FROM plumes WHERE {where}"


@dataclass(frozen=True)
class Layer:
    name: str
    sql: str
    geometry_type: str
    description: str


LAYERS: tuple[Layer, ...] = (
    Layer("plumes", "SELECT * EXCLUDE (geometry), ST_AsWKB(geometry) AS wkb FROM plumes "
          "WHERE plume_id IN ({selected})", "Point", "plume origins with every catalog field"),
    Layer("outlines", "SELECT * EXCLUDE (geometry, ime_geometry), ST_AsWKB(geometry) AS wkb "
          "FROM plume_products WHERE geometry IS NOT NULL AND plume_id IN ({selected})",
          "MultiPolygon", "plume outlines (plume-outline.geojson) with the product statistics"),
    Layer("sources", "SELECT s.* EXCLUDE (geometry), st.* EXCLUDE (source_name, gas, sector, lon, lat, geometry), "
          "ST_AsWKB(s.geometry) AS wkb FROM sources s LEFT JOIN source_stats st USING (source_name) "
          "WHERE s.geometry IS NOT NULL AND ({all_plumes} OR s.source_name IN "
          "(SELECT source_name FROM plume_sources WHERE plume_id IN ({selected})))",
          "Point", "sources with their recomputed profile"),
    Layer("crop_footprints", "SELECT * EXCLUDE (geometry), ST_AsWKB(geometry) AS wkb FROM scene_crops "
          "WHERE status = 'ok' AND geometry IS NOT NULL AND plume_id IN ({selected})",
          "MultiPolygon", "extent of each native-resolution L2B crop"),
)


def _frame(con, layer: Layer, where: str | None) -> gpd.GeoDataFrame:
    selected = _SELECTED.format(where=f"({where})" if where else "true")
    sql = layer.sql.format(selected=selected, all_plumes="true" if not where else "false")
    table = con.execute(sql).fetch_arrow_table().to_pandas()
    wkb = table.pop("wkb")
    geometry = shapely.from_wkb(wkb.map(bytes, na_action="ignore").to_numpy())
    if layer.geometry_type == "MultiPolygon":
        single = shapely.get_type_id(geometry) == 3
        geometry[single] = [shapely.MultiPolygon([g]) for g in geometry[single]]
    for column in table.columns:
        if isinstance(table[column].dtype, pd.BooleanDtype) or table[column].dtype == object:
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    return gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")


def export(database: str | os.PathLike, out_dir: str | os.PathLike, fmt: str,
           where: str | None = None) -> dict[str, tuple[Path, int]]:
    """Write every layer to ``out_dir`` in ``fmt`` (``gpkg``, ``fgb`` or ``geojson``) with the
    plumes matching the SQL predicate ``where`` (on the ``plumes`` view) and what relates to them;
    returns layer -> (file, rows). Raises ``ValueError`` for an unknown format and the DuckDB
    error for a bad predicate, before any file is written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    driver, suffix = FORMATS[fmt]
    con = connect_read_only(database)
    try:
        frames = {layer.name: (_frame(con, layer, where), layer) for layer in LAYERS}
    finally:
        con.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex
    written: dict[str, tuple[Path, int]] = {}
    pending: list[tuple[Path, Path]] = []
    try:
        for name, (frame, layer) in frames.items():
            target = out / (f"cm_assets{suffix}" if fmt == "gpkg" else f"{name}{suffix}")
            tmp = target.with_name(f".{target.name}.{tag}.tmp{suffix}")
            pyogrio.write_dataframe(frame, tmp, layer=name, driver=driver, geometry_type=layer.geometry_type,
                                    append=fmt == "gpkg" and tmp.exists(),
                                    layer_options={"DESCRIPTION": layer.description} if fmt == "gpkg" else None)
            if (tmp, target) not in pending:
                pending.append((tmp, target))
            written[name] = (target, len(frame))
        for tmp, target in pending:
            os.replace(tmp, target)
    finally:
        for tmp, _target in pending:
            tmp.unlink(missing_ok=True)
    return written
