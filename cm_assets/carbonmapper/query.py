"""Query-string building: repeated keys for REST arrays, RFC 3339 intervals, STAC comma lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from cm_assets.carbonmapper.enums import Gas, Instrument, Quality, Sector
from cm_assets.carbonmapper.models import as_utc

Params = list[tuple[str, str]]
Instant = dt.datetime | dt.date | str | None
Interval = tuple[Instant, Instant] | str


def _instant(value: Instant) -> str:
    if value is None or value == "":
        return ".."
    if isinstance(value, dt.datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_interval(interval: Interval) -> str:
    """``start/end`` in RFC 3339 (UTC ``Z``); a None side becomes ``..`` (open-ended)."""
    if isinstance(interval, str):
        return interval
    start, end = interval
    return f"{_instant(start)}/{_instant(end)}"


def _value(item: Any) -> str:
    return item.value if isinstance(item, Enum) else str(item)


def repeated(key: str, values: Iterable[Any] | None) -> Params:
    return [(key, _value(v)) for v in values or ()]


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bbox) != 4:
        raise ValueError(f"bbox needs 4 numbers (W, S, E, N), got {len(bbox)}")
    west, south, east, north = (float(v) for v in bbox)
    if south > north:
        raise ValueError("bbox south is above north")
    return west, south, east, north


def plume_filters(*, gas: Gas | str | None = None, instruments: Iterable[Instrument | str] | None = None,
                  observed: Interval | None = None, published: Interval | None = None,
                  modified: Interval | None = None, bbox: Sequence[float] | None = None,
                  sectors: Iterable[Sector | str] | None = None, emission_min: float | None = None,
                  emission_max: float | None = None, qualities: Iterable[Quality | str] | None = None,
                  status: str | None = "published", plume_names: Iterable[str] | None = None,
                  source_name: str | None = None, sort: str | None = "asc") -> Params:
    """The shared plume filter set (spec §3.2) as query pairs, validated and in upstream spelling."""
    params: Params = []
    if gas is not None:
        params.append(("plume_gas", Gas(gas).value))
    params += repeated("instruments", [Instrument(i) for i in instruments or ()])
    params += repeated("sectors", [_sector(s) for s in sectors or ()])
    params += repeated("qualities", [Quality(q) for q in qualities or ()])
    params += repeated("plume_names", plume_names)
    if bbox is not None:
        params += repeated("bbox", check_bbox(bbox))
    if observed is not None:
        params.append(("datetime", format_interval(observed)))
    if published is not None:
        params.append(("published_at_datetime", format_interval(published)))
    if modified is not None:
        params.append(("modified_at", format_interval(modified)))
    if emission_min is not None:
        params.append(("emission_min", repr(float(emission_min))))
    if emission_max is not None:
        params.append(("emission_max", repr(float(emission_max))))
    if source_name:
        params.append(("source_name", source_name))
    if status:
        params.append(("status", status))
    if sort:
        params.append(("sort", sort))
    return params


def _sector(value: Sector | str) -> str:
    try:
        return Sector(value).value
    except ValueError:
        return str(value)  # codes newer than this client are passed through
