"""Freshness settings, read from the environment (documented in docs/freshness.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cm_assets.defs.env import int_env


SENSOR_INTERVAL_SECONDS = int_env("CM_ASSETS_SENSOR_INTERVAL_SECONDS", 60)
"""Minimum seconds between ticks of the new-plume and reprocessing sensors (read at load time)."""

DEFERRED_INTERVAL_SECONDS = int_env("CM_ASSETS_DEFERRED_INTERVAL_SECONDS", 6 * 3600)
"""Minimum seconds between ticks of the deferred-scene sensor (read at load time)."""


@dataclass(frozen=True)
class FreshnessSettings:
    """Per-tick knobs of the freshness sensors and schedules."""

    lookback_days: float = 3.0
    max_runs_per_tick: int = 20
    max_plumes_per_tick: int = 5000
    lag_days: int = 30
    max_scene_checks_per_tick: int = 200

    @classmethod
    def from_env(cls) -> FreshnessSettings:
        """Defaults overridden by ``CM_ASSETS_FRESHNESS_*`` variables."""
        lookback = os.environ.get("CM_ASSETS_FRESHNESS_LOOKBACK_DAYS", "").strip()
        return cls(
            lookback_days=float(lookback) if lookback else cls.lookback_days,
            max_runs_per_tick=int_env("CM_ASSETS_FRESHNESS_MAX_RUNS_PER_TICK", cls.max_runs_per_tick),
            max_plumes_per_tick=int_env("CM_ASSETS_FRESHNESS_MAX_PLUMES_PER_TICK",
                                         cls.max_plumes_per_tick),
            lag_days=int_env("CM_ASSETS_FRESHNESS_LAG_DAYS", cls.lag_days),
            max_scene_checks_per_tick=int_env("CM_ASSETS_FRESHNESS_MAX_SCENE_CHECKS",
                                               cls.max_scene_checks_per_tick),
        )
