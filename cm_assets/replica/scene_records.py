"""SceneAnnotatedOut records (spec §4.12) of the world's scenes."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from cm_assets.replica.query import to_ns
from cm_assets.replica.timestamps import iso
from cm_assets.replica.world import World

_NEVER = np.iinfo(np.int64).max


def scene_annotated(world: World, j: int, now: datetime | None = None) -> dict:
    """SceneAnnotatedOut (spec §4.12); ``published_plume_count`` counts plumes visible at ``now``."""
    _, s = world.columns()
    a = world.arrays()
    in_scene = a["scene_idx"] == j
    if now is not None:
        in_scene &= a["published"] <= to_ns(now)
    area = float(s["width"][j] * s["height"][j] * s["gsd"][j] ** 2 / 1e6)
    cloud = int(s["cloud_cover_pct"][j])
    hour = (int(s["timestamp"][j]) // 1_000_000_000 % 86_400) / 3600 + float(s["west"][j] + s["east"][j]) / 30
    zenith = min(89.0, abs(float(s["south"][j] + s["north"][j]) / 2 - 10.0) + abs(hour - 12.0) * 12.0)
    return {
        "id": s["id"][j],
        "name": s["name"][j],
        "bounds": [float(s["west"][j]), float(s["south"][j]), float(s["east"][j]), float(s["north"][j])],
        "timestamp": iso(s["timestamp"][j], True),
        "published_at": None if a["scene_visible"][j] == _NEVER else iso(int(a["scene_visible"][j])),
        "instrument": s["instrument"][j],
        "platform": s["platform"][j],
        "mission_phase": s["mission_phase"][j],
        "published_plume_count": int(in_scene.sum()),
        "cloud_cover_pct": cloud,
        "cloud_cover_pct_assessed": cloud,
        "not_cloudy": cloud < 20,
        "area_sqkm": round(area, 3),
        "gsd": float(s["gsd"][j]),
        "solar_zenith_angle": round(zenith, 2),
        "off_nadir": float(s["off_nadir"][j]),
        "sensitivity_mode": s["sensitivity_mode"][j],
    }
