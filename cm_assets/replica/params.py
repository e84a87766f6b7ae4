"""Query-string parsing and validation with Django-Ninja-shaped 422 errors.

Array parameters arrive as repeated keys (``?sectors=1B2&sectors=6A``); a comma-joined REST
``bbox`` therefore fails float parsing of its first element, as on the real API. Unknown
parameters are ignored. Interval parameters (``datetime``, ``published_at_datetime``,
``modified_at``, ``created_at``) take ``start/end`` with ``..`` for an open end; a date-only
start means 00:00 UTC that day and a date-only end means the end of that day (inclusive). A
single value without ``/`` is the interval [value, value] (a whole day when date-only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from cm_assets.replica.errors import HTTPError

T = TypeVar("T")

Interval = tuple[datetime | None, datetime | None]
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldError:
    """One entry of a Django Ninja ``{"detail": [...]}`` body."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "loc": list(self.loc), "msg": self.msg}


def validation_error(errors: Sequence[FieldError]) -> HTTPError:
    """The 422 response Django Ninja returns for invalid input."""
    return HTTPError(422, {"detail": [e.as_dict() for e in errors]})


def _enum_msg(choices: Sequence[str]) -> str:
    quoted = [f"'{c}'" for c in choices]
    head = ", ".join(quoted[:-1])
    return f"Input should be {head} or {quoted[-1]}" if head else f"Input should be {quoted[-1]}"


def _parse_bound(text: str, *, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    if _DATE_ONLY.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def parse_interval(text: str) -> Interval:
    """Parse ``start/end`` (``..`` = open); raises ValueError when malformed."""
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        if "/" in end_text:
            raise ValueError("too many '/'")
    else:
        start_text = end_text = text
    start = _parse_bound(start_text, end=False)
    stop = _parse_bound(end_text, end=True)
    if start and stop and start > stop:
        raise ValueError("start after end")
    return start, stop


class QueryParams:
    """Typed access to a parsed query string; collects every error before raising one 422."""

    def __init__(self, query: dict[str, list[str]], location: str = "query") -> None:
        self._query = query
        self._location = location
        self.errors: list[FieldError] = []

    def _fail(self, name: str, msg: str, kind: str, index: int | None = None) -> None:
        loc: tuple[str | int, ...] = (self._location, name)
        self.errors.append(FieldError(loc if index is None else (*loc, index), msg, kind))

    def _convert(self, name: str, convert: Callable[[str], T], msg: str, kind: str) -> T | None:
        """``convert`` of the value; None when absent or invalid (``msg`` may use {value}, {exc})."""
        value = self.string(name)
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError as exc:
            self._fail(name, msg.format(value=value, exc=exc), kind)
            return None

    def string(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[-1] if values else None

    def strings(self, name: str) -> list[str] | None:
        values = self._query.get(name)
        return list(values) if values else None

    def enum(self, name: str, choices: Sequence[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in choices:
            self._fail(name, _enum_msg(choices), "enum")
            return None
        return value

    def enums(self, name: str, choices: Sequence[str]) -> list[str] | None:
        values = self.strings(name)
        if values is None:
            return None
        for i, value in enumerate(values):
            if value not in choices:
                self._fail(name, _enum_msg(choices), "enum", i)
        return values

    def integer(self, name: str, default: int | None = None, *, lo: int | None = None,
                hi: int | None = None) -> int | None:
        number = self._convert(name, int, "Input should be a valid integer, unable to parse string "
                               "as an integer", "int_parsing")
        if number is None:
            return default
        if lo is not None and number < lo:
            self._fail(name, f"Input should be greater than or equal to {lo}",
                       "greater_than_equal")
        if hi is not None and number > hi:
            self._fail(name, f"Input should be less than or equal to {hi}", "less_than_equal")
        return number

    def number(self, name: str) -> float | None:
        return self._convert(name, float, "Input should be a valid number, unable to parse string "
                             "as a number", "float_parsing")

    def boolean(self, name: str) -> bool | None:
        value = self.string(name)
        if value is None:
            return None
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "off", "f", "n"):
            return False
        self._fail(name, "Input should be a valid boolean, unable to interpret input",
                   "bool_parsing")
        return None

    def interval(self, name: str) -> Interval | None:
        return self._convert(name, parse_interval,
                             "Value error, invalid datetime interval {value!r}: {exc}", "value_error")

    def bbox_repeated(self, name: str = "bbox") -> tuple[float, float, float, float] | None:
        """REST bbox: four repeated keys W,S,E,N."""
        values = self.strings(name)
        if values is None:
            return None
        numbers = self._floats(name, values)
        return self._bbox(name, numbers)

    def _floats(self, name: str, values: Iterable[str]) -> list[float] | None:
        numbers: list[float] = []
        for i, value in enumerate(values):
            try:
                numbers.append(float(value))
            except ValueError:
                self._fail(name, "Input should be a valid number, unable to parse string as "
                           "a number", "float_parsing", i)
                return None
        return numbers

    def _bbox(self, name: str, numbers: list[float] | None
              ) -> tuple[float, float, float, float] | None:
        if numbers is None:
            return None
        if len(numbers) != 4:
            self._fail(name, "Value error, bbox needs exactly 4 numbers W,S,E,N", "value_error")
            return None
        west, south, east, north = numbers
        if south > north:
            self._fail(name, "Value error, bbox south is greater than north", "value_error")
            return None
        return west, south, east, north

    def geojson(self, name: str) -> dict[str, Any] | None:
        value = self.string(name)
        if value is None:
            return None
        try:
            geometry = json.loads(value)
        except json.JSONDecodeError:
            geometry = None
        if not isinstance(geometry, dict) or "type" not in geometry:
            self._fail(name, "Value error, not a GeoJSON geometry", "value_error")
            return None
        return geometry

    def check(self) -> None:
        """Raise the collected errors as one 422."""
        if self.errors:
            raise validation_error(self.errors)
