"""Plumes of one scene are separate tasks that share one resolution of the scene."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from cm_assets.defs.scenes.assets import SharedResolution

PLUMES = 4


def _ask_together(shared: SharedResolution, key: tuple[str, ...]) -> list:
    start = threading.Barrier(PLUMES)

    def ask(plume: int):
        start.wait()
        return shared.get(key, plume)

    with ThreadPoolExecutor(PLUMES) as pool:
        futures = [pool.submit(ask, n) for n in range(PLUMES)]
        return [f.exception() or f.result() for f in futures]


def test_a_scene_asked_by_its_plumes_at_once_is_resolved_once():
    resolved: list[int] = []

    def resolve(plume: int) -> object:
        resolved.append(plume)
        return object()

    shared = SharedResolution(resolve)
    answers = _ask_together(shared, ("scene-a",))
    assert len(resolved) == 1 and all(answer is answers[0] for answer in answers)
    assert shared.get(("scene-b",), 9) is not answers[0] and resolved[-1] == 9


def test_a_run_wide_error_of_the_resolution_reaches_every_plume():
    def resolve(plume: int) -> object:
        raise PermissionError("401")

    answers = _ask_together(SharedResolution(resolve), ("scene-a",))
    assert all(isinstance(answer, PermissionError) for answer in answers)
    with pytest.raises(PermissionError):
        SharedResolution(resolve).get(("scene-a",), 0)


def test_two_plumes_of_one_scene_are_two_tasks_cropped_at_the_same_time(crops_stage, local_replica, monkeypatch):
    """A second plume on the first one's scene: one resolution, and both crops run together (each
    waits for the other at a barrier; cropped one after another, the first would time out)."""
    from cm_assets.carbonmapper import CarbonMapperClient
    from cm_assets.defs.scenes import assets
    from cm_assets.storage import layout

    store, day = crops_stage.store, crops_stage.day
    both = threading.Barrier(2, timeout=20)
    resolved: list[str] = []
    resolve = assets.resolve_scene
    monkeypatch.setattr(assets, "resolve_scene", lambda client, record, lookups: resolved.append(record.plume_id)
                        or resolve(client, record, lookups))
    monkeypatch.setattr(assets, "crop_row", lambda record, *args: both.wait() * 0 or
                        {"plume_id": record.plume_id, "status": "ok"})
    monkeypatch.setattr(store, "read_parquet", lambda rel, *a, **k: None if rel == layout.crops_day(day)
                        else type(store).read_parquet(store, rel, *a, **k))  # no finished crops to keep
    with CarbonMapperClient(local_replica.api_url, email=local_replica.email,
                            password=local_replica.password) as client:
        first = client.get_plume(store.read_parquet(layout.catalog_day(day))["plume_id"].iloc[0])
        sibling = first.plume_id[:-1] + ("B" if first.plume_id[-1] != "B" else "C")  # scene-A -> scene-B
        second = first.model_copy(update={"plume_id": sibling})
        assert second.scene_name == first.scene_name
        monkeypatch.setattr(assets, "_outlines", lambda *args: pd.DataFrame(
            {"outline": None, "l3a_path": None}, index=[first.plume_id, second.plume_id]))
        with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(4) as reads:
            plan = assets.plan_crops(client, [first, second], store, day, assets.CropConfig(figure_workers=0),
                                     give_up_days=30, reads=reads, log=logging.getLogger("test"))
            rows = [row for task in [pool.submit(t) for t in plan.tasks] for row in task.result()]
    assert len(plan.tasks) == 2 and len(resolved) == 1
    assert [(row["plume_id"], row["status"]) for row in rows] == [(first.plume_id, "ok"), (second.plume_id, "ok")]
