"""When to stop waiting for an L2B scene: the rule shared by ``scene_crops`` and the deferred sensor."""

from __future__ import annotations

from datetime import date, datetime

from cm_assets.defs.env import int_env

DEFERRED = "deferred"
GAVE_UP = "gave_up"


def give_up_days() -> int:
    """Days after observation after which an unpublished scene is given up (default 90)."""
    return int_env("CM_ASSETS_FRESHNESS_GIVE_UP_DAYS", 90)


def past_give_up(observation_day: str, now: datetime) -> bool:
    """Whether ``observation_day`` is more than the give-up age before ``now``."""
    return (now.date() - date.fromisoformat(observation_day)).days > give_up_days()


def unpublished_scene_status(observation_day: str, now: datetime) -> str:
    """Crop status of a plume whose L2B parent is not published: ``deferred``, then ``gave_up``."""
    return GAVE_UP if past_give_up(observation_day, now) else DEFERRED
