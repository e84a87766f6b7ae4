"""A restart-safe time cursor over an API timestamp field, and the per-tick plan built from it.

The cursor is JSON kept by Dagster in the instance: the last timestamp consumed, the ids already
consumed at exactly that timestamp (so plumes sharing a timestamp are neither skipped nor counted
twice), and plume ids whose observation day is not yet a valid partition (requested later).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cm_assets.carbonmapper.models import as_utc


def parse_time(text: str) -> datetime:
    """An ISO-8601 instant from the API as aware UTC (``Z`` allowed, naive means UTC)."""
    return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


@dataclass(frozen=True)
class Event:
    """One plume seen through the cursor's field: its UUID, timestamp and observation day."""

    id: str
    at: datetime
    partition: str


@dataclass(frozen=True)
class TimeCursor:
    """Position in a stream ordered by (timestamp, id)."""

    at: datetime
    ids: frozenset[str] = frozenset()
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def is_new(self, event: Event) -> bool:
        return event.at > self.at or (event.at == self.at and event.id not in self.ids)

    def advance(self, event: Event) -> TimeCursor:
        if event.at > self.at:
            return TimeCursor(event.at, frozenset({event.id}), self.pending)
        return TimeCursor(self.at, self.ids | {event.id}, self.pending)

    def to_json(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "ids": sorted(self.ids),
                           "pending": {k: list(v) for k, v in sorted(self.pending.items())}})

    @classmethod
    def from_json(cls, text: str) -> TimeCursor:
        data = json.loads(text)
        return cls(parse_time(data["at"]), frozenset(data.get("ids", ())),
                   {k: tuple(v) for k, v in data.get("pending", {}).items()})


@dataclass(frozen=True)
class Plan:
    """What one tick requests: plume ids per partition, the cursor to store, and whether it stopped early."""

    batches: dict[str, list[str]]
    cursor: TimeCursor
    truncated: bool


def plan_tick(events: Iterable[Event], cursor: TimeCursor, *, max_partitions: int,
              is_valid: Callable[[str], bool],
              wanted: Callable[[Event], bool] = lambda _event: True) -> Plan:
    """Consume ``events`` (ascending by timestamp) into at most ``max_partitions`` partition batches.

    Events already behind the cursor are ignored. The cursor advances over every consumed event,
    wanted or not, and stops before the first event that would open one partition too many, so
    the rest comes next tick. Events of not-yet-valid partitions are parked in ``pending``; parked
    partitions that became valid are requested first.
    """
    batches: dict[str, list[str]] = {}
    pending = {day: list(ids) for day, ids in cursor.pending.items()}
    for day in sorted(pending):
        if is_valid(day) and len(batches) < max_partitions:
            batches[day] = pending.pop(day)
    position = TimeCursor(cursor.at, cursor.ids)
    truncated = False
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if not position.is_new(event):
            continue
        take = wanted(event)
        if take and is_valid(event.partition) and event.partition not in batches \
                and len(batches) >= max_partitions:
            truncated = True
            break
        position = position.advance(event)
        if not take:
            continue
        if is_valid(event.partition):
            batches.setdefault(event.partition, []).append(event.id)
        else:
            pending.setdefault(event.partition, []).append(event.id)
    final = TimeCursor(position.at, position.ids, {k: tuple(v) for k, v in pending.items()})
    return Plan(batches, final, truncated)
