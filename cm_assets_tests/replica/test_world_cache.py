"""The world cache: same config → the cached world; code or config change → a rebuild."""

from __future__ import annotations

from datetime import date

import pytest

from cm_assets.replica import world_cache
from cm_assets.replica.world import WorldConfig

pytestmark = pytest.mark.fast

CONFIG = WorldConfig.from_scale("tiny", seed=7, end=date(2026, 11, 24))


def test_second_load_reads_the_cache_and_equals_a_fresh_build(tmp_path, monkeypatch):
    first = world_cache.load_or_build(CONFIG, tmp_path)
    assert world_cache.cache_path(CONFIG, tmp_path).exists()

    def fail(config):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(world_cache, "build_world", fail)
    second = world_cache.load_or_build(CONFIG, tmp_path)
    assert second.plumes.equals(first.plumes) and second.scenes.equals(first.scenes)
    assert second.sources.equals(first.sources)


def test_code_change_or_corrupt_file_rebuilds_and_keeps_one_file(tmp_path, monkeypatch):
    world_cache.load_or_build(CONFIG, tmp_path)
    monkeypatch.setattr(world_cache, "code_digest", lambda: "changed-code")
    world_cache.load_or_build(CONFIG, tmp_path)
    assert [p.name for p in tmp_path.glob("world-*.pickle")] == [
        world_cache.cache_path(CONFIG, tmp_path).name]

    world_cache.cache_path(CONFIG, tmp_path).write_bytes(b"not a pickle")
    rebuilt = world_cache.load_or_build(CONFIG, tmp_path)
    assert len(rebuilt.plumes) == CONFIG.n_plumes
