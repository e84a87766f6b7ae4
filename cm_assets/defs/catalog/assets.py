"""The ``plume_catalog`` asset: every published CH4/CO2 plume observed on each UTC day."""

from collections import Counter
from collections.abc import Collection

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.defs import checks
from cm_assets.defs.catalog.build import build_catalog_days, conflicting_duplicates, day_positions
from cm_assets.defs.catalog.drift import DriftObserver, drift_check_specs
from cm_assets.defs.day_records import prefetched_payloads
from cm_assets.defs.metadata import Preview, table_schema
from cm_assets.defs.partitions import day_asset
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets.sql.schema import TABLES

CATALOG_CHECKS = ["schema", "unique_plume_ids", "valid_geometries", "non_negative_emissions"]
PREVIEW = ["plume_id", "gas", "instrument", "sector", "emission_auto", "emission_version", "scene_timestamp"]


def stored_plume_ids(store: Storage, skip_days: Collection[str] = ()) -> pd.Series:
    """plume_id of every catalog partition on disk except ``skip_days`` (reads one column per file)."""
    skip = {layout.catalog_day(day) for day in skip_days}
    return store.read_columns(layout.day_table_glob("plumes"), ["plume_id"], exclude=skip)["plume_id"].astype("string")


#: the columns the catalog's checks read (a run keeps only these of its rows for them)
CHECKED = list(dict.fromkeys([*checks.REQUIRED_PLUME_FIELDS, "plume_id", "emission_auto", "emission_uncertainty_auto"]))


def catalog_checks(frame: pd.DataFrame, store: Storage, conflicting: int = 0,
                   days: Collection[str] = (), columns: Collection[str] | None = None) -> list:
    """The catalog's checks over the run's rows ``frame`` (which may hold only :data:`CHECKED`;
    ``columns``: those the written tables had, default the frame's); plume ids are unique across
    this run's ``days`` (as in ``frame``, just written) and every other stored day (read from the
    files)."""
    ids = stored_plume_ids(store, days)
    if days:
        ids = pd.concat([ids, frame["plume_id"].astype("string")], ignore_index=True)
    return [
        checks.check_schema(frame, "plumes", checks.REQUIRED_PLUME_FIELDS, columns),
        checks.check_unique_ids(ids, conflicting),
        checks.check_geometries(frame),
        checks.check_non_negative(frame, ["emission_auto", "emission_uncertainty_auto"]),
    ]


def catalog_metadata(preview: Preview, rows: np.ndarray, quarantined: int, conflicting: int, path: str) -> dict:
    """Metadata of one day's materialization, its ``rows`` of the run's catalog (``preview``: the
    :data:`PREVIEW` columns): row count, preview, quarantined records and file. Kept small: a
    backfill stores one event per day, and the column schema is the asset's definition metadata
    rather than repeated in every event."""
    instruments = preview.values["instrument"]
    return {
        "dagster/row_count": MetadataValue.int(len(rows)),
        "preview": MetadataValue.md(preview.markdown(rows)),
        "quarantined": quarantined,
        "conflicting_duplicates": conflicting,
        "path": MetadataValue.path(path),
        "by_instrument": MetadataValue.json(dict(Counter(instruments[i] for i in rows).most_common())),
    }


@day_asset(
    group_name="catalog",
    kinds={"geoparquet"},
    check_specs=checks.check_specs("plume_catalog", CATALOG_CHECKS) + drift_check_specs(),
    metadata={"dagster/column_schema": table_schema("plumes")},
)
def plume_catalog(context: AssetExecutionContext, carbonmapper: CarbonMapperResource,
                  storage: StorageResource) -> MaterializeResult:
    """Every published CH4 and CO2 plume observed on the partition's UTC day, typed by the client:
    all record fields, point geometry (EPSG:4326), plume bounds, scene name, wind u/v and instrument
    name. One GeoParquet file per day (catalog/day=YYYY-MM-DD.parquet), replaced on rerun; records
    that do not parse, break a value rule, fall outside the run's days or conflict with another copy
    of their plume_id go to quarantine/day=YYYY-MM-DD.parquet with the field and the reason (a day
    without such records has no quarantine file)."""
    store = storage.storage_for(carbonmapper)
    frames, conflicting, columns = [], 0, set(TABLES["plumes"])
    drift = DriftObserver()
    # of killed writes, any day: one listing
    store.remove_stale_temporaries([layout.DAY_TABLE_DIRS[table] for table in ("plumes", "quarantine")])
    with carbonmapper.get_client() as client:
        for chunk, payloads in prefetched_payloads(client, list(context.partition_keys)):
            for day, day_payloads in payloads.items():
                drift.observe(day_payloads, day)
            catalog, malformed = build_catalog_days(payloads, PlumeRecord.parse)
            rows, bad = day_positions(catalog, "observation_day", chunk), day_positions(malformed, "partition", chunk)
            # one conversion for the chunk, then each day's file published as soon as written
            store.write_parquet_parts(catalog, {layout.catalog_day(day): rows[day] for day in chunk})
            store.write_parquet_parts(malformed, {layout.quarantine_day(day): bad[day] for day in chunk
                                                  if len(bad[day])})
            preview = Preview(catalog, PREVIEW)
            for day in chunk:
                if len(bad[day]):
                    day_conflicts = conflicting_duplicates(malformed.iloc[bad[day]])
                    context.log.warning(f"{day}: {len(bad[day])} malformed record(s) quarantined")
                else:
                    day_conflicts = 0
                    store.remove(layout.quarantine_day(day))
                conflicting += day_conflicts
                context.add_asset_metadata(
                    catalog_metadata(preview, rows[day], len(bad[day]), day_conflicts,
                                     store.uri(layout.catalog_day(day))), partition_key=day)
            # only what the checks read is kept until the end (a backfill of years: every chunk)
            columns &= set(catalog.columns)
            frames.append(catalog[[c for c in CHECKED if c in catalog.columns]])
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    results = catalog_checks(frame, store, conflicting, set(context.partition_keys), columns)
    return MaterializeResult(metadata={"days": len(context.partition_keys)}, check_results=results + drift.results())
