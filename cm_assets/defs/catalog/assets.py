"""The ``plume_catalog`` asset: every published CH4/CO2 plume observed on each UTC day."""

from datetime import date, datetime, timedelta, timezone

import pandas as pd
from dagster import (
    AssetCheckSpec,
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
from cm_assets.defs.metadata import table_metadata
from cm_assets.defs.partitions import day_window, observation_days
from cm_assets.defs.resources import CarbonMapperResource, StorageResource
from cm_assets.defs.storage import Storage

GASES = ("CH4", "CO2")
CHUNK_DAYS = 92
CATALOG_CHECKS = ["schema", "unique_plume_ids", "valid_geometries", "non_negative_emissions"]
PREVIEW = ["plume_id", "gas", "instrument", "sector", "emission_auto", "emission_version", "scene_timestamp"]


def catalog_path(day: str) -> str:
    return f"catalog/day={day}.parquet"


def quarantine_path(day: str) -> str:
    return f"quarantine/day={day}.parquet"


def _utc_day(stamp: object) -> str | None:
    """The UTC day of an ISO 8601 timestamp (naive ones read as UTC), None when it is not one.
    ``datetime.fromisoformat`` rather than ``pd.to_datetime``: the latter guesses the format anew
    for every single value, a third of a full-world backfill's time."""
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc)
    return parsed.strftime("%Y-%m-%d")


def _record_day(payload: object, fallback: str) -> str:
    """The UTC observation day of a raw record (scene_timestamp, else the plume id's date)."""
    if isinstance(payload, dict):
        day = _utc_day(payload.get("scene_timestamp"))
        if day is not None:
            return day
        digits = str(payload.get("plume_id", ""))[3:11]
        if digits.isdigit():
            return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return fallback


def day_chunks(days: list[str], max_days: int = CHUNK_DAYS) -> list[list[str]]:
    """Consecutive runs of ``days`` (sorted), cut into chunks of at most ``max_days``."""
    chunks: list[list[str]] = []
    for day in sorted(days):
        previous = chunks[-1][-1] if chunks else None
        follows = previous is not None and date.fromisoformat(day) - date.fromisoformat(previous) == timedelta(1)
        if follows and len(chunks[-1]) < max_days:
            chunks[-1].append(day)
        else:
            chunks.append([day])
    return chunks


def fetch_payloads_by_day(client, days: list[str]) -> dict[str, list[dict]]:
    """Raw published records of both gases for ``days``: one paginated query per gas and chunk of
    consecutive days (a backfill of years costs about one request per 1000 plumes, not per day).

    A record goes to its own observation day when that day is in ``days``; one observed outside
    them goes to the nearest day of its chunk, whose catalog build quarantines it (never dropped)."""
    out: dict[str, list[dict]] = {day: [] for day in days}
    for chunk in day_chunks(days):
        window = (day_window(chunk[0])[0], day_window(chunk[-1])[1])
        for gas in GASES:
            for payload in client.iter_plume_payloads(gas=gas, observed=window, status="published"):
                day = _record_day(payload, chunk[0])
                out[day if day in out else min(max(day, chunk[0]), chunk[-1])].append(payload)
    return out


def all_plume_ids(store: Storage) -> pd.Series:
    """plume_id of every catalog partition on disk (reads one column per file)."""
    return store.read_columns("catalog/day=*.parquet", ["plume_id"])["plume_id"].astype("string")


def catalog_checks(frame: pd.DataFrame, store: Storage, conflicting: int = 0) -> list:
    return [
        checks.check_schema(frame, "plumes", checks.REQUIRED_PLUME_FIELDS),
        checks.check_unique_ids(all_plume_ids(store), conflicting),
        checks.check_geometries(frame),
        checks.check_non_negative(frame, ["emission_auto", "emission_uncertainty_auto"]),
    ]


@asset(
    partitions_def=observation_days,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="catalog",
    kinds={"geoparquet"},
    check_specs=[AssetCheckSpec(name, asset="plume_catalog") for name in CATALOG_CHECKS] + drift_check_specs(),
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
    frames, quarantined, conflicting = [], 0, 0
    drift = DriftObserver()
    store.remove_stale_temporaries(["catalog", "quarantine"])  # of killed writes, any day: one listing
    with carbonmapper.get_client() as client:
        for chunk in day_chunks(list(context.partition_keys)):
            payloads = fetch_payloads_by_day(client, chunk)
            for day, day_payloads in payloads.items():
                drift.observe(day_payloads, day)
            catalog, malformed = build_catalog_days(payloads, PlumeRecord.parse)
            quarantine = split_days(malformed, "partition", chunk)
            for day, rows in split_days(catalog, "observation_day", chunk).items():
                bad = quarantine[day]
                store.write_parquet(rows, catalog_path(day))
                if len(bad):
                    store.write_parquet(bad, quarantine_path(day))
                    context.log.warning(f"{day}: {len(bad)} malformed record(s) quarantined")
                else:
                    store.remove(quarantine_path(day))
                quarantined += len(bad)
                conflicting += conflicting_duplicates(bad)
            frames.append(catalog)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    metadata = table_metadata(frame, "plumes", PREVIEW)
    metadata.update({
        "days": len(context.partition_keys),
        "quarantined": quarantined,
        "conflicting_duplicates": conflicting,
        "path": MetadataValue.path(store.uri(catalog_path(context.partition_keys[-1]))),
        "by_instrument": MetadataValue.json(frame["instrument"].value_counts().to_dict() if len(frame) else {}),
    })
    return MaterializeResult(metadata=metadata,
                             check_results=catalog_checks(frame, store, conflicting) + drift.results())
