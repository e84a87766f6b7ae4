"""The time cursor and the per-tick plan: ties, restarts, bounds and not-yet-valid partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cm_assets.defs.api_watch.cursor import Event, TimeCursor, plan_tick

pytestmark = pytest.mark.fast

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def ev(i: str, seconds: int, day: str = "2026-04-20") -> Event:
    return Event(i, T0 + timedelta(seconds=seconds), day)


def always(_day: str) -> bool:
    return True


def consume(events: list[Event], cursor: TimeCursor, max_partitions: int = 100) -> tuple[list[str], TimeCursor]:
    plan = plan_tick(events, cursor, max_partitions=max_partitions, is_valid=always)
    return sorted(i for ids in plan.batches.values() for i in ids), plan.cursor


def test_json_round_trip_keeps_everything() -> None:
    cursor = TimeCursor(T0, frozenset({"b", "a"}), {"2026-05-02": ("x",)})
    assert TimeCursor.from_json(cursor.to_json()) == cursor


def test_ties_are_neither_skipped_nor_repeated_across_ticks() -> None:
    first = [ev("a", 0), ev("b", 5), ev("c", 5)]
    seen, cursor = consume(first, TimeCursor(T0 - timedelta(days=1)))
    assert seen == ["a", "b", "c"] and cursor.at == T0 + timedelta(seconds=5)
    assert cursor.ids == {"b", "c"}
    # the next poll starts at the cursor's timestamp (inclusive) and sees a late tie "d"
    restored = TimeCursor.from_json(cursor.to_json())
    seen, cursor = consume([ev("b", 5), ev("c", 5), ev("d", 5), ev("e", 9)], restored)
    assert seen == ["d", "e"] and cursor.ids == {"e"}
    seen, _ = consume([ev("e", 9)], cursor)
    assert seen == []


def test_repeating_a_tick_from_the_same_cursor_gives_the_same_plan() -> None:
    events = [ev("a", 1, "2026-04-01"), ev("b", 2, "2026-04-02"), ev("c", 2, "2026-04-01")]
    start = TimeCursor(T0)
    one = plan_tick(events, start, max_partitions=10, is_valid=always)
    two = plan_tick(list(reversed(events)), start, max_partitions=10, is_valid=always)
    assert one == two
    assert one.batches == {"2026-04-01": ["a", "c"], "2026-04-02": ["b"]}


def test_partition_bound_stops_the_cursor_before_the_overflowing_event() -> None:
    events = [ev("a", 1, "d1"), ev("b", 2, "d2"), ev("c", 3, "d1"), ev("d", 3, "d3"), ev("e", 4, "d1")]
    plan = plan_tick(events, TimeCursor(T0), max_partitions=2, is_valid=always)
    assert plan.truncated and plan.batches == {"d1": ["a", "c"], "d2": ["b"]}
    assert plan.cursor.at == T0 + timedelta(seconds=3) and plan.cursor.ids == {"c"}
    rest = plan_tick(events, plan.cursor, max_partitions=2, is_valid=always)
    assert rest.batches == {"d3": ["d"], "d1": ["e"]} and not rest.truncated


def test_unwanted_events_advance_the_cursor_without_requests() -> None:
    events = [ev("a", 1), ev("b", 2), ev("c", 3)]
    plan = plan_tick(events, TimeCursor(T0), max_partitions=5, is_valid=always,
                     wanted=lambda e: e.id == "b")
    assert plan.batches == {"2026-04-20": ["b"]} and plan.cursor.ids == {"c"}


def test_days_that_are_not_partitions_yet_wait_in_the_cursor() -> None:
    valid = {"2026-04-20"}
    plan = plan_tick([ev("a", 1), ev("f", 2, "2026-05-03")], TimeCursor(T0), max_partitions=5,
                     is_valid=valid.__contains__)
    assert plan.batches == {"2026-04-20": ["a"]} and plan.cursor.pending == {"2026-05-03": ("f",)}
    valid.add("2026-05-03")
    later = plan_tick([], TimeCursor.from_json(plan.cursor.to_json()), max_partitions=5,
                      is_valid=valid.__contains__)
    assert later.batches == {"2026-05-03": ["f"]} and later.cursor.pending == {}
