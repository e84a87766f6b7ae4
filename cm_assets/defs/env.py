"""Integer settings read from the environment (shared by the freshness sensors and the give-up rule)."""

from __future__ import annotations

import os


def int_env(name: str, default: int) -> int:
    """The integer in variable ``name``, ``default`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default
