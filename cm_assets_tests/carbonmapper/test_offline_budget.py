"""The shared request budget without HTTP: its settings, its store counted across opened budgets,
and the pacing drawing every slot from it."""

from __future__ import annotations

import time

import pytest

from cm_assets.carbonmapper import BudgetSpec, ClientConfig
from cm_assets.carbonmapper.budget import parse_budget
from cm_assets.carbonmapper.ratelimit import RateLimiter, RatePolicy

pytestmark = pytest.mark.fast


def test_settings_from_the_environment():
    assert ClientConfig.from_env({}).budget is None
    env = {"CARBONMAPPER_BUDGET_REQUESTS": "300", "CARBONMAPPER_BUDGET_WINDOW": "60",
           "CARBONMAPPER_BUDGET_STORE": "/var/tmp/b.sqlite"}
    assert ClientConfig.from_env(env).budget == BudgetSpec(300, 60.0, "/var/tmp/b.sqlite")
    assert parse_budget("10") == BudgetSpec(10, 60.0, None)
    with pytest.raises(ValueError, match="CARBONMAPPER_BUDGET_REQUESTS"):
        parse_budget("lots")
    with pytest.raises(ValueError, match="CARBONMAPPER_BUDGET_WINDOW"):
        parse_budget("10", "a minute")
    with pytest.raises(ValueError, match="at least 1"):
        BudgetSpec(0)


def test_a_redis_password_never_shows():
    spec = BudgetSpec(10, 60.0, "redis://:s3cret-pw@redis-host:6379/0")
    assert spec.is_redis and "s3cret-pw" not in repr(spec) and "redis-host:6379" in repr(spec)
    with pytest.raises(ValueError) as error:
        parse_budget("x", store="redis://:s3cret-pw@redis-host:6379/0")
    assert "s3cret-pw" not in str(error.value)


def test_budgets_opened_on_one_store_share_it_per_account(tmp_path):
    spec = BudgetSpec(4, 0.6, str(tmp_path / "budget.sqlite"), margin=0.0)
    first, second, other = spec.open("api-a"), spec.open("api-a"), spec.open("api-b")
    try:
        first.acquire(4)
        started = time.monotonic()
        other.acquire(4)  # another account: its own budget
        assert time.monotonic() - started < 0.3
        second.acquire(1)  # the same account: waits for the window to move
        assert time.monotonic() - started >= 0.4
    finally:
        for budget in (first, second, other):
            budget.close()


class RecordingBudget:
    def __init__(self) -> None:
        self.taken: list[int] = []

    def acquire(self, n: int = 1) -> None:
        self.taken.append(n)


@pytest.mark.parametrize("start", [None, 1000.0])
def test_every_slot_is_drawn_from_the_budget_paced_or_not(start):
    budget = RecordingBudget()
    limiter = RateLimiter(RatePolicy(start=start), budget=budget)
    limiter.acquire()
    limiter.acquire(2)
    assert budget.taken == [1, 2]
