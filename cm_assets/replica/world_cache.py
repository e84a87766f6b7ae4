"""Disk cache of built worlds, so a restart of a large replica is near-instant.

A world is a pure function of its ``WorldConfig`` and of the code that builds it, so the cache
key is the config plus a digest of the world-building modules' source: a code change never
serves a stale world. Only the newest cache file is kept (the default ``end`` is today, so the
key changes daily). The file is written by this process into its own data dir (pickle).
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from pathlib import Path

from cm_assets.replica.atomic import write_atomically
from cm_assets.replica.world import World, WorldConfig
from cm_assets.replica.world_generator import build_world

WORLD_MODULES = ("world", "world_generator", "geography", "instruments", "versions", "catalog_ids", "clustering")


def code_digest() -> str:
    """SHA-256 of the source of every module that shapes the world."""
    digest = hashlib.sha256()
    for name in WORLD_MODULES:
        spec = importlib.util.find_spec(f"cm_assets.replica.{name}")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def cache_path(config: WorldConfig, cache_dir: Path) -> Path:
    """Where the world of ``config`` is cached."""
    return cache_dir / f"world-s{config.seed}-n{config.n_plumes}-{config.end}-{code_digest()}.pickle"


def load_or_build(config: WorldConfig, cache_dir: Path) -> World:
    """The cached world of ``config``, or a freshly built one that is then cached atomically."""
    path = cache_path(config, cache_dir)
    if path.exists():
        try:
            return pickle.loads(path.read_bytes())
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            path.unlink(missing_ok=True)
    world = build_world(config)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob("world-*.pickle"):
        stale.unlink(missing_ok=True)
    write_atomically(path, lambda tmp: _dump(world, tmp))
    return world


def _dump(world: World, path: Path) -> None:
    with path.open("wb") as handle:
        pickle.dump(world, handle, protocol=pickle.HIGHEST_PROTOCOL)
