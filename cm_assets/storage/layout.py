"""Where every file lives under the data root: the one module that spells the storage layout.

Day-partitioned GeoParquet tables are ``<dir>/day=YYYY-MM-DD.parquet``; per-plume files sit under
``products/{plume_id}/``, ``crops/{plume_id}/`` and ``plots/plumes/{plume_id}/``."""

from __future__ import annotations

import re

#: directory of each day-partitioned table (warehouse table name -> directory)
DAY_TABLE_DIRS: dict[str, str] = {
    "plumes": "catalog",
    "quarantine": "quarantine",
    "plume_products": "products",
    "scene_crops": "crops",
}
#: the day of a day-partitioned file, from its name
DAY_FILE = re.compile(r"day=(\d{4}-\d{2}-\d{2})\.parquet$")

SOURCES = "sources/sources.parquet"
PLUME_SOURCES = "sources/plume_sources.parquet"
SOURCE_STATS = "sources/source_stats.parquet"
#: source name -> key of the data its stored timeline was drawn from (``source_stats`` redraws the others)
TIMELINE_KEYS = "plots/sources/timeline_keys.json"
HISTORY = "history/plume_versions.parquet"
WAREHOUSE = "cm.duckdb"
#: the API the data root holds data from (``cm_assets.storage.origin``)
ORIGIN = "ORIGIN.json"


def day_table(table: str, day: str) -> str:
    """The file of ``table`` (a key of :data:`DAY_TABLE_DIRS`) for observation day ``day``."""
    return f"{DAY_TABLE_DIRS[table]}/day={day}.parquet"


def day_table_glob(table: str) -> str:
    """The pattern matching every day's file of ``table``."""
    return f"{DAY_TABLE_DIRS[table]}/day=*.parquet"


def catalog_day(day: str) -> str:
    return day_table("plumes", day)


def quarantine_day(day: str) -> str:
    return day_table("quarantine", day)


def products_day(day: str) -> str:
    return day_table("plume_products", day)


def crops_day(day: str) -> str:
    return day_table("scene_crops", day)


#: every warehouse table -> the file(s) it is read from
TABLE_FILES: dict[str, str] = {
    **{table: day_table_glob(table) for table in DAY_TABLE_DIRS},
    "sources": SOURCES,
    "plume_sources": PLUME_SOURCES,
    "source_stats": SOURCE_STATS,
    "plume_history": HISTORY,
}


def product_file(plume_id: str, filename: str) -> str:
    """One of the plume's stored L3A products (``mask.tif``, ``outline.geojson``, ...)."""
    return f"products/{plume_id}/{filename}"


def crop_file(plume_id: str, band: str) -> str:
    """The plume's L2B crop of ``band`` (COG)."""
    return f"crops/{plume_id}/{band}.tif"


def quicklook_png(plume_id: str) -> str:
    return f"plots/plumes/{plume_id}/quicklook.png"


def comparison_png(plume_id: str) -> str:
    return f"plots/plumes/{plume_id}/l3a_vs_l2b.png"


def source_timeline_png(source_name: str) -> str:
    return f"plots/sources/{source_name}.png"


def product_dirs(plume_id: str) -> list[str]:
    """Directories ``plume_products`` writes for one plume (its products and pictures)."""
    return [f"products/{plume_id}", f"plots/plumes/{plume_id}"]


def crop_dirs(plume_id: str) -> list[str]:
    """Directory ``scene_crops`` writes the plume's L2B crops in (its picture goes with the products')."""
    return [f"crops/{plume_id}"]


def report_dir(kind: str, name: str) -> str:
    """Directory of an on-demand report (``kind`` = ``plumes`` or ``sources``)."""
    return f"reports/{kind}/{name}"
