"""``new_plume_sensor`` against a replica: bounded first tick, exact days, no double counting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cm_assets.defs.api_watch.cursor import TimeCursor, parse_time
from cm_assets.defs.api_watch.events import observation_day
from cm_assets.defs.api_watch.new_detections import new_plume_sensor
from cm_assets.defs.resources import FreshnessResource
from cm_assets_tests.helpers.freshness import advance, client_for


def published(replica) -> list[dict]:
    with client_for(replica) as client:
        return list(client.iter_plume_payloads(status="published"))


def days_and_counts(result) -> dict[str, int]:
    return {r.partition_key: int(r.tags["cm_assets/new_plumes"]) for r in result.run_requests}


def test_first_tick_takes_only_the_lookback_window_and_repeats_are_harmless(replica, evaluate) -> None:
    plumes = published(replica)
    newest = max(parse_time(p["published_at"]) for p in plumes)
    recent = [p for p in plumes if parse_time(p["published_at"]) >= newest - timedelta(days=3)]
    assert 0 < len(recent) < len(plumes)
    expected: dict[str, int] = {}
    for p in recent:
        expected[observation_day(p)] = expected.get(observation_day(p), 0) + 1

    first = evaluate(new_plume_sensor, replica)
    assert days_and_counts(first) == expected
    assert all(r.job_name in (None, "refresh_days") for r in first.run_requests)
    again = evaluate(new_plume_sensor, replica)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    assert TimeCursor.from_json(first.cursor).at == newest
    quiet = evaluate(new_plume_sensor, replica, first.cursor)
    assert quiet.run_requests == [] and quiet.cursor == first.cursor


def test_requests_per_tick_are_bounded_and_every_plume_counts_once(replica, evaluate) -> None:
    freshness = FreshnessResource(lookback_days=60, max_runs_per_tick=2)
    plumes = published(replica)
    newest = max(parse_time(p["published_at"]) for p in plumes)
    window = [p for p in plumes if parse_time(p["published_at"]) >= newest - timedelta(days=60)]
    cursor, seen_keys, total, days = None, set(), 0, set()
    for _ in range(len(window) + 2):
        result = evaluate(new_plume_sensor, replica, cursor, freshness)
        assert len(result.run_requests) <= 2
        for request in result.run_requests:
            assert request.run_key not in seen_keys
            seen_keys.add(request.run_key)
            total += int(request.tags["cm_assets/new_plumes"])
            days.add(request.partition_key)
        cursor = result.cursor
        if not result.run_requests:
            break
    assert total == len(window)
    assert days == {observation_day(p) for p in window}
    assert len(seen_keys) > 2  # it really took several ticks


@pytest.mark.timeout(180)
def test_late_publications_request_exactly_the_days_that_gained_plumes(replica_factory, evaluate) -> None:
    replica = replica_factory()
    first = evaluate(new_plume_sensor, replica)
    before = {p["id"] for p in published(replica)}
    advance(replica, 5)
    arrived = [p for p in published(replica) if p["id"] not in before]
    assert arrived, "the replica published nothing in five days"
    tick = evaluate(new_plume_sensor, replica, first.cursor)
    expected: dict[str, int] = {}
    for p in arrived:
        expected[observation_day(p)] = expected.get(observation_day(p), 0) + 1
    assert days_and_counts(tick) == expected
    assert min(expected) < parse_time(arrived[0]["published_at"]).date().isoformat()  # late: old days
    assert evaluate(new_plume_sensor, replica, tick.cursor).run_requests == []
