"""The freshness settings Dagster needs when the definitions load, read from the environment here.

A sensor's minimum interval is part of its definition, fixed when the code location loads: these two
are read once, at import (restart the code location to change them). Every per-tick knob is a field
of :class:`cm_assets.defs.resources.FreshnessResource` instead. Documented in docs/freshness.md.
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number of seconds, got {text!r}") from None


SENSOR_INTERVAL_SECONDS = _int_env("CM_ASSETS_SENSOR_INTERVAL_SECONDS", 60)
"""Minimum seconds between ticks of the new-plume and reprocessing sensors."""

DEFERRED_INTERVAL_SECONDS = _int_env("CM_ASSETS_DEFERRED_INTERVAL_SECONDS", 6 * 3600)
"""Minimum seconds between ticks of the deferred-scene sensor."""
