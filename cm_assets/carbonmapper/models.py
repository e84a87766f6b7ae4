"""Typed records of the API: plumes (JSON and CSV), sources, STAC scenes, scene footprints."""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
import uuid
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.enums import Gas, Instrument, Quality, Sector, parse_sector
from cm_assets.carbonmapper.errors import RecordError


#: Longest accepted plume id: real ids are 20-30 characters; the id becomes a file and directory name.
MAX_ID_LENGTH = 64
_PLUME_ID = re.compile(r"^[A-Za-z0-9]{3}\d{8}t\d{6}[a-z0-9]{0,16}-[A-Z0-9]{1,8}$")


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip() in ("", "null", "None"):
        return None
    return value


def _bounds(value: Any) -> Any:
    """``[W, S, E, N]`` from a list or its string form (CSV): four finite numbers, longitudes in
    [-180, 180], latitudes in [-90, 90], W <= E and S <= N."""
    value = _empty_to_none(value)
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ValueError("not a list of four numbers") from None
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise ValueError("expected a list of four numbers [W, S, E, N]")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ValueError("every bound must be a number")
    west, south, east, north = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ValueError("bounds must be finite")
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError("bounds out of range or not ordered (W <= E, S <= N)")
    return west, south, east, north


def _plume_id(value: Any) -> Any:
    """The colloquial plume id (spec §8.1): ``<3-char instrument><YYYYMMDD>t<HHMMSS><tail>-<suffix>``
    with a real date and time, a lower-case tail and an upper-case/numeric suffix, at most
    ``MAX_ID_LENGTH`` characters (the id names files and directories)."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"longer than {MAX_ID_LENGTH} characters")
    if not _PLUME_ID.match(value):
        raise ValueError("does not follow the plume id grammar <instrument><YYYYMMDD>t<HHMMSS><tail>-<suffix>")
    try:
        compact_instant(value[3:18])
    except ValueError:
        raise ValueError("the id's date/time is not a real instant") from None
    return value


def as_utc(instant: dt.datetime) -> dt.datetime:
    """``instant`` as an aware UTC datetime; a naive one is read as UTC (as the API means it)."""
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)


def compact_instant(text: str) -> dt.datetime:
    """The naive instant of the 15 characters ``YYYYMMDDtHHMMSS`` (as ids and scene names spell it);
    ValueError when it is not a real one. ``datetime.strptime`` does the same ~5× slower: it looks up the locale on
    every call (a third of a record's parsing)."""
    if len(text) != 15 or text[8] not in "tT" or not (text[:8] + text[9:]).isdigit():
        raise ValueError(f"not YYYYMMDDtHHMMSS: {text!r}")
    return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]),
                       int(text[9:11]), int(text[11:13]), int(text[13:15]))


def _uuid(value: Any) -> Any:
    if not isinstance(value, str) or len(value) != 36:
        raise ValueError("must be a UUID string")
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID string") from None
    return value


def _point(value: Any) -> Any:
    if value is None or isinstance(value, Point):
        return value
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several non-ValueError types on bad GeoJSON
        raise ValueError(f"not GeoJSON: {exc}") from None
    if not isinstance(geom, Point) or geom.is_empty:
        raise ValueError("expected a GeoJSON Point")
    return geom


def _point_json(value: Any) -> Any:
    """Validate a GeoJSON Point but keep the upstream dict (the plain ``[x, y]`` form checked without
    building a shapely point; anything else as shapely reads it)."""
    if isinstance(value, dict) and value.get("type") == "Point":
        coords = value.get("coordinates")
        if isinstance(coords, list) and len(coords) in (2, 3) and all(
                type(c) in (int, float) and math.isfinite(c) for c in coords):
            return value
    _point(value)
    return value


def _bool(value: Any) -> Any:
    value = _empty_to_none(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in ("true", "t", "yes", "1"):
            return True
        if folded in ("false", "f", "no", "0"):
            return False
    return value


Bounds = Annotated[tuple[float, float, float, float] | None, BeforeValidator(_bounds)]
OptBool = Annotated[bool | None, BeforeValidator(_bool)]
SectorCode = Annotated[Sector | str | None, Field(union_mode="left_to_right"),
                       BeforeValidator(parse_sector)]
PointGeom = Annotated[Point | None, BeforeValidator(_point)]
PointJson = Annotated[dict[str, Any] | None, BeforeValidator(_point_json)]
PlumeId = Annotated[str, BeforeValidator(_plume_id)]
Uuid = Annotated[str, BeforeValidator(_uuid)]
#: Any float the API sends must be finite (JSON ``NaN``/``Infinity`` parse in Python).
Finite = Annotated[float | None, Field(allow_inf_nan=False)]
#: Emissions and their uncertainties: finite and >= 0.
Emission = Annotated[float | None, Field(allow_inf_nan=False, ge=0)]


class _Record(BaseModel):
    """Shared parsing: ``parse`` turns validation failures into a :class:`RecordError`."""

    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True,
                              populate_by_name=True)
    _kind: ClassVar[str] = "record"
    _id_field: ClassVar[str] = "id"

    @classmethod
    def parse(cls, payload: Any) -> Self:
        """Validate ``payload``; any failure (not only pydantic's) becomes a :class:`RecordError`."""
        ident = payload.get(cls._id_field) if isinstance(payload, dict) else None
        ident = ident if isinstance(ident, str) else None
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "<record>"
            raise RecordError(field, first["msg"], payload, ident, cls._kind) from None
        except Exception as exc:  # a validator or a type conversion raising outside pydantic
            raise RecordError("<record>", f"{type(exc).__name__}: {exc}", payload, ident, cls._kind) from None


class _PlumeBase(_Record):
    _kind: ClassVar[str] = "plume"
    _id_field: ClassVar[str] = "plume_id"

    plume_id: PlumeId

    @property
    def scene_name(self) -> str:
        """The L2B scene name (STAC item id): the plume id without its suffix."""
        return self.plume_id.rsplit("-", 1)[0]


class PlumeRecord(_PlumeBase):
    """One ``PlumeAnnotatedOut`` (plume list item or ``/catalog/plume/{id}``); spec §4.3.

    Unknown upstream fields are kept (``model_extra``); every field but ``id``, ``plume_id`` and
    ``gas`` may be null.
    """

    id: Uuid
    gas: Gas
    geometry_json: PointJson = None
    scene_id: str | None = None
    scene_timestamp: dt.datetime | None = None
    instrument: Instrument | None = None
    mission_phase: str | None = None
    platform: str | None = None
    emission_auto: Emission = None
    emission_uncertainty_auto: Emission = None
    emission_cmf_type: str | None = None
    cmf_type: str | None = None
    gsd: Finite = None
    sensitivity_mode: str | None = None
    off_nadir: Finite = None
    plume_tif: str | None = None
    con_tif: str | None = None
    plume_png: str | None = None
    rgb_png: str | None = None
    plume_rgb_png: str | None = None
    plume_bounds: Bounds = None
    plume_quality: Quality | None = None
    wind_speed_avg_auto: Finite = None
    wind_direction_avg_auto: Finite = None
    emission_version: str | None = None
    processing_software: str | None = None
    publication_sources: Any = None
    is_offshore: OptBool = None
    collection: str | None = None
    sector: SectorCode = None
    status: str | None = None
    hide_emission: OptBool = None
    published_at: dt.datetime | None = None
    modified: dt.datetime | None = None

    @property
    def version(self) -> str | None:
        return self.emission_version

    @property
    def instrument_name(self) -> str | None:
        return self.instrument.display_name if self.instrument else None

    @property
    def lon(self) -> float | None:
        return self.point.x if self.point else None

    @property
    def lat(self) -> float | None:
        return self.point.y if self.point else None

    @property
    def point(self) -> Point | None:
        """The plume origin (EPSG:4326); the record holds no polygon."""
        return _point(self.geometry_json)

    @property
    def observation_datetime(self) -> dt.datetime | None:
        return self.scene_timestamp

    @property
    def wind_u(self) -> float | None:
        """Eastward wind (m/s) from meteorological speed/direction (direction the wind comes from)."""
        if self.wind_speed_avg_auto is None or self.wind_direction_avg_auto is None:
            return None
        return -self.wind_speed_avg_auto * math.sin(math.radians(self.wind_direction_avg_auto))

    @property
    def wind_v(self) -> float | None:
        if self.wind_speed_avg_auto is None or self.wind_direction_avg_auto is None:
            return None
        return -self.wind_speed_avg_auto * math.cos(math.radians(self.wind_direction_avg_auto))


class PlumeCsvRow(_PlumeBase):
    """One row of ``/catalog/plume-csv``: strings coerced, empty cells null, sector as a code."""

    plume_latitude: Finite = None
    plume_longitude: Finite = None
    datetime: dt.datetime | None = None
    country: str | None = None
    state_province: str | None = None
    sector: SectorCode = Field(None, validation_alias="ipcc_sector")
    gas: Gas | None = None
    cmf_type: str | None = None
    emission_cmf_type: str | None = None
    plume_bounds: Bounds = None
    instrument: Instrument | None = None
    mission_phase: str | None = None
    published_at: dt.datetime | None = None
    modified: dt.datetime | None = None
    emission_version: str | None = None
    processing_software: str | None = None
    gsd: Finite = None
    sensitivity_mode: str | None = None
    off_nadir: Finite = None
    emission_auto: Emission = None
    emission_uncertainty_auto: Emission = None
    wind_speed_avg_auto: Finite = None
    wind_speed_std_auto: Finite = None
    wind_direction_avg_auto: Finite = None
    wind_direction_std_auto: Finite = None
    wind_source_auto: str | None = None
    platform: str | None = None
    provider: str | None = None
    hide_emission: OptBool = None
    plume_tif: str | None = None
    plume_png: str | None = None
    con_tif: str | None = None
    rgb_tif: str | None = None
    rgb_png: str | None = None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # type: ignore[override]
        if isinstance(obj, dict):
            obj = {k.lstrip("\ufeff"): _empty_to_none(v) for k, v in obj.items()}
        return super().model_validate(obj, **kwargs)

    @property
    def version(self) -> str | None:
        return self.emission_version

    @property
    def point(self) -> Point | None:
        if self.plume_longitude is None or self.plume_latitude is None:
            return None
        return Point(self.plume_longitude, self.plume_latitude)


class _SourceBase(_Record):
    """Fields shared by a source's listing feature and its detail: name, point, aggregate stats."""

    _kind: ClassVar[str] = "source"
    _id_field: ClassVar[str] = "source_name"

    source_name: str
    point: PointGeom = None
    gas: Gas | None = None
    sector: SectorCode = None
    persistence: float | None = None
    emission_auto: float | None = None
    emission_uncertainty_auto: float | None = None


class SourceSummary(_SourceBase):
    """One feature of ``/catalog/sources.geojson`` (name cleaned of the stray ``?…`` suffix)."""

    plume_count: int | None = None
    timestamp_min: dt.datetime | None = None
    timestamp_max: dt.datetime | None = None
    observation_date_count: int | None = None
    detection_date_count: int | None = None
    plume_ids: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_feature(cls, feature: dict[str, Any]) -> SourceSummary:
        props = dict(feature.get("properties") or {})
        payload = {**props, "source_name": strip_source_name(str(props.get("source_name", ""))),
                   "point": feature.get("geometry"), "raw": props}
        return cls.parse(payload)


def strip_source_name(name: str) -> str:
    """A source name without the query fragment some listings append (spec §5.2)."""
    return name.split("?", 1)[0].strip()


class SceneRef(_Record):
    id: str | None = None
    name: str
    timestamp: dt.datetime | None = None
    instrument: Instrument | None = None


class SourceDetail(_SourceBase):
    """``/catalog/source/{name}``: aggregate stats (nested ``source``) and every attributed plume."""

    plumes: list[PlumeRecord] = Field(default_factory=list)
    scenes: list[SceneRef] = Field(default_factory=list)
    observation_dates: list[dt.date] = Field(default_factory=list)
    detection_dates: list[dt.date] = Field(default_factory=list)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SourceDetail:
        stats = payload.get("source") or {}
        merged = {**{k: v for k, v in stats.items() if k in _SOURCE_STATS}, **payload}
        merged["source_name"] = strip_source_name(str(payload.get("source_name", "")))
        return cls.parse(merged)

    @property
    def plume_count(self) -> int:
        return len(self.plumes)


_SOURCE_STATS = ("gas", "sector", "persistence", "emission_auto", "emission_uncertainty_auto")


class SceneItem(_Record):
    """An L2B scene: from a STAC item, or derived from a plume record when STAC lacks it."""

    _kind: ClassVar[str] = "scene"
    _id_field: ClassVar[str] = "scene_name"

    scene_name: str
    collection: str
    datetime: dt.datetime | None = None
    platform: str | None = None
    bbox: Bounds = None
    geometry: BaseGeometry | None = None
    asset_urls: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict, repr=False)
    from_stac: bool = False

    @classmethod
    def from_stac_item(cls, item: dict[str, Any]) -> SceneItem:
        props = item.get("properties") or {}
        try:
            geometry = shape(item["geometry"]) if item.get("geometry") else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordError("geometry", str(exc), item, item.get("id"), "scene") from None
        return cls.parse({
            "scene_name": item.get("id"), "collection": item.get("collection"),
            "datetime": props.get("datetime"), "platform": props.get("platform"),
            "bbox": item.get("bbox"), "geometry": geometry, "properties": props, "from_stac": True,
            "asset_urls": {k: a["href"] for k, a in (item.get("assets") or {}).items() if "href" in a},
        })


class SceneFootprint(_Record):
    """One ``SceneAnnotatedOut`` from ``/catalog/scenes/annotated`` (overpasses, for persistence)."""

    _kind: ClassVar[str] = "scene"
    _id_field: ClassVar[str] = "name"

    id: str | None = None
    name: str
    bounds: Bounds = None
    timestamp: dt.datetime | None = None
    published_at: dt.datetime | None = None
    instrument: Instrument | None = None
    mission_phase: str | None = None
    published_plume_count: int | None = None
    cloud_cover_pct_assessed: float | None = None
    not_cloudy: OptBool = None

    @property
    def geometry(self) -> BaseGeometry | None:
        return box(*self.bounds) if self.bounds else None
