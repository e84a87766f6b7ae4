"""When to stop waiting for an L2B scene: the rule shared by ``scene_crops`` and the deferred sensor.

The age comes from ``FreshnessResource.give_up_days``, which both of them receive."""

from __future__ import annotations

from datetime import date, datetime

DEFERRED = "deferred"
GAVE_UP = "gave_up"


def past_give_up(observation_day: str, now: datetime, give_up_days: int) -> bool:
    """Whether ``observation_day`` is more than ``give_up_days`` days before ``now``."""
    return (now.date() - date.fromisoformat(observation_day)).days > give_up_days


def unpublished_scene_status(observation_day: str, now: datetime, give_up_days: int) -> str:
    """Crop status of a plume whose L2B parent is not published: ``deferred``, then ``gave_up``."""
    return GAVE_UP if past_give_up(observation_day, now, give_up_days) else DEFERRED
