"""Plumes of one scene are separate tasks that share one resolution of the scene."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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
