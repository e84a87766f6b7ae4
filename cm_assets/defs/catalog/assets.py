"""The ``plume_catalog`` asset: every published CH4/CO2 plume observed on each UTC day."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.defs import checks
from cm_assets.defs.catalog.build import build_catalog_days, conflicting_duplicates, split_days
from cm_assets.defs.catalog.drift import DriftObserver, drift_check_specs
from cm_assets.defs.day_records import day_chunks, fetch_payloads_by_day
from cm_assets.defs.metadata import table_metadata
from cm_assets.defs.partitions import observation_days
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.storage import layout
from cm_assets.storage.store import Storage

CATALOG_CHECKS = ["schema", "unique_plume_ids", "valid_geometries", "non_negative_emissions"]
PREVIEW = ["plume_id", "gas", "instrument", "sector", "emission_auto", "emission_version", "scene_timestamp"]


def all_plume_ids(store: Storage) -> pd.Series:
    """plume_id of every catalog partition on disk (reads one column per file)."""
    return store.read_columns(layout.day_table_glob("plumes"), ["plume_id"])["plume_id"].astype("string")


def catalog_checks(frame: pd.DataFrame, store: Storage, conflicting: int = 0) -> list:
    return [
        checks.check_schema(frame, "plumes", checks.REQUIRED_PLUME_FIELDS),
        checks.check_unique_ids(all_plume_ids(store), conflicting),
        checks.check_geometries(frame),
        checks.check_non_negative(frame, ["emission_auto", "emission_uncertainty_auto"]),
    ]


def catalog_metadata(rows: pd.DataFrame, bad: pd.DataFrame, store: Storage, day: str) -> dict:
    """Metadata of one day's materialization: its rows, quarantined records and file."""
    metadata = table_metadata(rows, "plumes", PREVIEW)
    metadata.update({
        "quarantined": len(bad),
        "conflicting_duplicates": conflicting_duplicates(bad),
        "path": MetadataValue.path(store.uri(layout.catalog_day(day))),
        "by_instrument": MetadataValue.json(rows["instrument"].value_counts().to_dict() if len(rows) else {}),
    })
    return metadata


@asset(
    partitions_def=observation_days,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="catalog",
    kinds={"geoparquet"},
    check_specs=checks.check_specs("plume_catalog", CATALOG_CHECKS) + drift_check_specs(),
)
def plume_catalog(context: AssetExecutionContext, carbonmapper: CarbonMapperResource,
                  storage: StorageResource) -> MaterializeResult:
    """Every published CH4 and CO2 plume observed on the partition's UTC day, typed by the client:
    all record fields, point geometry (EPSG:4326), plume bounds, scene name, wind u/v and instrument
    name. One GeoParquet file per day (catalog/day=YYYY-MM-DD.parquet), replaced on rerun; records
    that do not parse, break a value rule, fall outside the run's days or conflict with another copy
    of their plume_id go to quarantine/day=YYYY-MM-DD.parquet with the field and the reason (a day
    without such records has no quarantine file)."""
    store = storage.storage()
    frames, conflicting = [], 0
    drift = DriftObserver()
    # of killed writes, any day: one listing
    store.remove_stale_temporaries([layout.DAY_TABLE_DIRS[table] for table in ("plumes", "quarantine")])
    with carbonmapper.get_client() as client:
        for chunk in day_chunks(list(context.partition_keys)):
            payloads = fetch_payloads_by_day(client, chunk)
            for day, day_payloads in payloads.items():
                drift.observe(day_payloads, day)
            catalog, malformed = build_catalog_days(payloads, PlumeRecord.parse)
            quarantine = split_days(malformed, "partition", chunk)
            for day, rows in split_days(catalog, "observation_day", chunk).items():
                bad = quarantine[day]
                store.write_parquet(rows, layout.catalog_day(day))
                if len(bad):
                    store.write_parquet(bad, layout.quarantine_day(day))
                    context.log.warning(f"{day}: {len(bad)} malformed record(s) quarantined")
                else:
                    store.remove(layout.quarantine_day(day))
                conflicting += conflicting_duplicates(bad)
                context.add_asset_metadata(catalog_metadata(rows, bad, store, day), partition_key=day)
            frames.append(catalog)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return MaterializeResult(metadata={"days": len(context.partition_keys)},
                             check_results=catalog_checks(frame, store, conflicting) + drift.results())
