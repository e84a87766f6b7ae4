"""``new_plume_sensor``: one tick evaluated with ``build_sensor_context`` against the in-process
replica."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from dagster import DagsterInstance, build_sensor_context

from cm_assets.definitions import defs
from cm_assets.defs.api_watch.cursor import TimeCursor, parse_time
from cm_assets.defs.api_watch.events import observation_day
from cm_assets.defs.api_watch.new_detections import new_plume_sensor
from cm_assets.defs.resources import StorageResource
from cm_assets_tests.helpers.freshness import client_for, resource_for

pytestmark = pytest.mark.fast


def test_the_first_tick_requests_the_days_published_in_the_lookback_window(local_replica, tmp_path):
    with client_for(local_replica) as client:
        plumes = list(client.iter_plume_payloads(status="published"))
    newest = max(parse_time(p["published_at"]) for p in plumes)
    expected = Counter(observation_day(p) for p in plumes
                       if parse_time(p["published_at"]) >= newest - timedelta(days=3))
    assert expected
    resources = {**defs.resources, "carbonmapper": resource_for(local_replica),
                 "storage": StorageResource(root=str(tmp_path))}
    context = build_sensor_context(instance=DagsterInstance.ephemeral(), resources=resources,
                                   sensor_name=new_plume_sensor.name, definitions=defs)
    tick = new_plume_sensor.evaluate_tick(context)
    assert {r.partition_key: int(r.tags["cm_assets/new_plumes"]) for r in tick.run_requests} == expected
    assert TimeCursor.from_json(tick.cursor).at == newest
