"""Turn raw plume payloads of one observation day into the catalog and quarantine tables."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cm_assets.carbonmapper.enums import Instrument
from cm_assets.carbonmapper.errors import RecordError
from cm_assets.carbonmapper.urls import strip_signature
from cm_assets.carbonmapper.vocabulary import URL_FIELDS
from cm_assets.sql.schema import PLUME_COLUMN_TYPES, conform

def instrument_name(code: object) -> str | None:
    try:
        return Instrument(str(code)).display_name
    except (ValueError, KeyError):
        return None


def wind_components(speed: float | None, direction_deg: float | None) -> tuple[float | None, float | None]:
    """Meteorological convention (direction the wind comes from): u = -s·sin(d), v = -s·cos(d)."""
    if speed is None or direction_deg is None:
        return None, None
    rad = math.radians(direction_deg)
    return -speed * math.sin(rad), -speed * math.cos(rad)


def _value(record: Any, payload: dict, field: str) -> Any:
    value = getattr(record, field, None)
    return payload.get(field) if value is None else value


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def catalog_row(record: Any, payload: dict, day: str) -> dict:
    """One catalog row: every §4.3 field plus bounds and derived columns (the point geometry of
    ``lon``/``lat`` is made for all rows at once by :func:`build_catalog_days`)."""
    row = {field: _value(record, payload, field) for field in PLUME_COLUMN_TYPES}
    for field in URL_FIELDS:
        row[field] = strip_signature(row[field])
    if row["publication_sources"] is not None and not isinstance(row["publication_sources"], str):
        row["publication_sources"] = json.dumps(row["publication_sources"], default=str)
    coords = (payload.get("geometry_json") or {}).get("coordinates") or [None, None]
    lon, lat = _number(coords[0]), _number(coords[1])
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise RecordError("geometry_json", "missing or out-of-range point coordinates", payload,
                          plume_id=payload.get("plume_id"))
    west, south, east, north = getattr(record, "plume_bounds", None) or (None,) * 4
    plume_id = str(row["plume_id"])
    u, v = wind_components(_number(row["wind_speed_avg_auto"]), _number(row["wind_direction_avg_auto"]))
    row.update(observation_day=day, scene_name=plume_id.rsplit("-", 1)[0],
               instrument_name=instrument_name(row["instrument"]), lon=lon, lat=lat, wind_u=u, wind_v=v,
               bounds_west=west, bounds_south=south, bounds_east=east, bounds_north=north)
    return row


#: Start of the quarantine reason of conflicting copies of one plume id (counted by the check).
DUPLICATE = "duplicate plume_id in one response with differing content"


def _observed_day(timestamp: Any) -> str | None:
    if not isinstance(timestamp, datetime):
        return None
    utc = timestamp.astimezone(timezone.utc) if timestamp.tzinfo else timestamp
    return utc.date().isoformat()  # the YYYY-MM-DD of strftime, a third of its cost


def _next_partition_boundary(timestamp: Any, day: str) -> bool:
    """Exactly midnight after ``day``: the API's inclusive window end returned the next day's first
    instant; that record belongs to the next partition, whose own query returns it."""
    stamp = pd.Timestamp(timestamp)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp == pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)


def quarantine_row(error: RecordError | Exception, payload: Any, day: str, now: datetime) -> dict:
    plume_id = getattr(error, "plume_id", None)
    if plume_id is None and isinstance(payload, dict) and isinstance(payload.get("plume_id"), str):
        plume_id = payload["plume_id"]
    field = getattr(error, "field", None)
    reason = getattr(error, "reason", None) or str(error)
    return {"plume_id": plume_id, "field": field, "reason": f"{field}: {reason}" if field else reason,
            "payload": quarantined_payload(payload), "partition": day, "quarantined_at": now}


def quarantined_payload(payload: Any) -> str:
    """The raw record as kept in quarantine: JSON, signed URLs without their signatures."""
    return json.dumps(_content(payload) if isinstance(payload, dict) else payload, default=str, sort_keys=True)


def _content(payload: dict) -> dict:
    """A record as compared between copies: signed URLs without their (expiring) signatures."""
    return {k: strip_signature(v) if k in URL_FIELDS else v for k, v in payload.items()}


def _differing_fields(payloads: list[dict]) -> list[str]:
    contents = [_content(p) for p in payloads]
    keys = sorted(set().union(*contents))
    return [k for k in keys if len({json.dumps(c.get(k), default=str, sort_keys=True) for c in contents}) > 1]


def _day_rows(payloads: Iterable[Any], day: str, parse: Callable[[dict], Any],
              now: datetime) -> tuple[list[dict], list[dict]]:
    """Catalog rows of ``day`` (sorted by plume_id) and quarantine rows; nothing is dropped silently:

    * good records observed on ``day`` become catalog rows;
    * malformed records go to quarantine naming the field and the rule;
    * a record observed on another day (the caller routes those that are in the run to their own
      day) goes to quarantine, except the next day's first instant that an inclusive window end
      returns (that day's own query returns it);
    * copies of one plume_id collapse when their content is identical; when it differs every copy
      is quarantined with reason :data:`DUPLICATE` and the differing fields."""
    copies: dict[str, list[tuple[dict, dict]]] = {}
    bad: list[dict] = []
    for payload in payloads:
        try:
            if not isinstance(payload, dict):
                raise RecordError("<record>", f"not an object: {type(payload).__name__}", payload)
            row = catalog_row(parse(payload), payload, day)
            observed = _observed_day(row["scene_timestamp"])
            if observed is not None and observed != day:
                if _next_partition_boundary(row["scene_timestamp"], day):
                    continue
                raise RecordError("scene_timestamp", f"observed on {observed}, outside the days of this run",
                                  payload, row["plume_id"])
        except RecordError as error:
            bad.append(quarantine_row(error, payload, day, now))
            continue
        copies.setdefault(row["plume_id"], []).append((row, payload))
    rows = []
    for plume_id in sorted(copies):
        group = copies[plume_id]
        differing = _differing_fields([payload for _row, payload in group]) if len(group) > 1 else []
        if not differing:
            rows.append(group[0][0])
            continue
        error = RecordError("plume_id", f"{DUPLICATE} ({', '.join(differing)})", None, plume_id)
        bad += [quarantine_row(error, payload, day, now) for _row, payload in group]
    return rows, bad


def conflicting_duplicates(quarantine: pd.DataFrame) -> int:
    """Plume ids quarantined because copies in one response differ."""
    if quarantine.empty:
        return 0
    hit = quarantine["reason"].astype("string").str.startswith(f"plume_id: {DUPLICATE}", na=False)
    return int(quarantine.loc[hit, "plume_id"].nunique())


def day_positions(frame: pd.DataFrame, column: str, days: Iterable[str]) -> dict[str, np.ndarray]:
    """Row positions of each of ``days`` in ``frame`` (by ``column``; empty for a day without rows)."""
    positions = frame.groupby(column, sort=False).indices if len(frame) else {}
    return {day: positions.get(day, np.empty(0, dtype=np.int64)) for day in days}


def build_catalog_days(payloads_by_day: dict[str, Iterable[Any]], parse: Callable[[dict], Any],
                       now: datetime | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The catalog and quarantine tables of many days at once, rows in day order (see
    :func:`_day_rows` for the rules): the tables are typed once for all the days, so a backfill costs
    per record, not per day. ``day_positions`` cuts them by day."""
    now = now or datetime.now(timezone.utc)
    good: list[dict] = []
    bad: list[dict] = []
    for day, payloads in payloads_by_day.items():
        rows, rejected = _day_rows(payloads, day, parse, now)
        good += rows
        bad += rejected
    catalog = pd.DataFrame(good)
    if len(catalog):
        catalog["geometry"] = shapely.points(catalog["lon"].to_numpy(float), catalog["lat"].to_numpy(float))
    return conform(catalog, "plumes"), conform(pd.DataFrame(bad), "quarantine")
