"""The shared plume filter set (spec §3.2) and listing parameters, parsed and validated.

Enum values are case-sensitive as on the real API (``GAO`` upper case, the other instruments
lower case). ``plume_ids`` must be UUIDs. Unknown parameters are ignored. ``instrument`` and
``instruments`` combine (union). ``created_at`` is validated but not filtered on: the replica's
records have no creation time distinct from ``published_at`` (spec §12.18).
"""

from __future__ import annotations

import uuid
from typing import Any

import shapely
import shapely.geometry

from cm_assets.replica.params import FieldError, QueryParams
from cm_assets.replica.query import PlumeQuery

SECTORS = ("1B2", "6A", "6B", "4B", "1B1a", "1A1", "1A2", "other", "NULL", "NA")
INSTRUMENTS = ("GAO", "ang", "emi", "tan", "ssc", "av3")
QUALITIES = ("good", "questionable", "bad")
GASES = ("CH4", "CO2")
STATUSES = ("not_deleted", "published", "publish_ready", "valid", "deleted", "hidden")
PLUME_SORTS = ("asc", "desc", "emissions_desc", "emissions_asc", "published_desc",
               "published_asc")
SCENE_SORTS = ("asc", "desc")


def plume_filters(q: QueryParams) -> dict[str, Any]:
    """Every §3.2 filter present in the query, keyed by its API name (absent ones omitted)."""
    values: dict[str, Any] = {
        "plume_ids": q.strings("plume_ids"),
        "plume_names": q.strings("plume_names"),
        "scene_name": q.string("scene_name"),
        "scene_id": q.string("scene_id"),
        "scene_ids": q.strings("scene_ids"),
        "emission_min": q.number("emission_min"),
        "emission_max": q.number("emission_max"),
        "sectors": q.enums("sectors", SECTORS),
        "plume_gas": q.enum("plume_gas", GASES),
        "instrument": q.enum("instrument", INSTRUMENTS),
        "instruments": q.enums("instruments", INSTRUMENTS),
        "qualities": q.enums("qualities", QUALITIES),
        "intersects": q.geojson("intersects"),
        "has_phme": q.boolean("has_phme"),
        "datetime": q.interval("datetime"),
        "published_at_datetime": q.interval("published_at_datetime"),
        "modified_at": q.interval("modified_at"),
        "created_at": q.interval("created_at"),
        "source_name": q.string("source_name"),
        "status": q.enum("status", STATUSES),
        "bbox": q.bbox_repeated("bbox"),
    }
    for i, value in enumerate(values["plume_ids"] or []):
        try:
            uuid.UUID(value)
        except ValueError:
            q.errors.append(_uuid_error("plume_ids", i))
    return {k: v for k, v in values.items() if v is not None}


def plume_query(q: QueryParams, sort: str = "desc") -> PlumeQuery:
    """The validated filters as a :class:`PlumeQuery` (call ``q.check()`` afterwards)."""
    f = plume_filters(q)
    instruments = tuple(([f["instrument"]] if "instrument" in f else [])
                        + list(f.get("instruments", [])))
    geometry = None
    if "intersects" in f:
        try:
            geometry = shapely.geometry.shape(f["intersects"])
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
            q.errors.append(FieldError(("query", "intersects"),
                                       "Value error, not a valid GeoJSON geometry", "value_error"))

    def tup(name: str) -> tuple[str, ...] | None:
        return tuple(f[name]) if name in f else None

    return PlumeQuery(
        plume_ids=tup("plume_ids"), plume_names=tup("plume_names"),
        scene_name=f.get("scene_name"), scene_id=f.get("scene_id"), scene_ids=tup("scene_ids"),
        source_name=f.get("source_name"), search=q.string("search"),
        emission_min=f.get("emission_min"), emission_max=f.get("emission_max"),
        sectors=tup("sectors"), plume_gas=f.get("plume_gas"), instruments=instruments or None,
        qualities=tup("qualities"), bbox=f.get("bbox"), intersects=geometry,
        observed=f.get("datetime"), published=f.get("published_at_datetime"),
        modified=f.get("modified_at"), status=f.get("status"), has_phme=f.get("has_phme"),
        sort=sort)


def _uuid_error(name: str, index: int) -> FieldError:
    return FieldError(("query", name, index), "Input should be a valid UUID, invalid character: "
                      "expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-]",
                      "uuid_parsing")


def page(q: QueryParams, default: int, maximum: int) -> tuple[int, int]:
    """``limit`` (1..maximum) and ``offset`` (≥ 0)."""
    limit = q.integer("limit", default, lo=0, hi=maximum)
    offset = q.integer("offset", 0, lo=0)
    return int(limit if limit is not None else default), int(offset or 0)
