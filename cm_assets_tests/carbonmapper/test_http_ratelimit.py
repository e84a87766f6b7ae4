"""The client's adaptive pacing: AIMD rules on a fake clock, then a throttled replica served at
full allowed speed with no request lost."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.carbonmapper.errors import ProductNotAvailable, SceneNotPublished
from cm_assets.carbonmapper.products import PLUME_PRODUCTS
from cm_assets.carbonmapper.ratelimit import RateLimiter, RatePolicy

from cm_assets_tests.helpers.client import admin


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _limiter(**policy) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(RatePolicy(**policy), clock=clock, sleep=clock.sleep), clock


def test_requests_are_spaced_by_the_rate():
    limiter, clock = _limiter(start=4.0, step=0.0, slow_start=False)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == [0.0, 0.25, 0.25, 0.25, 0.25] and clock.now == 101.0


def test_a_429_halves_once_per_episode_and_pauses_everyone():
    limiter, clock = _limiter(start=8.0, step=0.0, throttle_factor=0.5, slow_start=False)
    limiter.acquire()
    for _ in range(5):  # five threads see the same throttling episode
        limiter.throttled(3.0)
    assert limiter.rate == 4.0
    assert limiter.acquire() == 3.0  # nobody goes before Retry-After has passed
    limiter.throttled(2.0)  # a new episode after the pause
    assert limiter.rate == 2.0


def test_success_recovers_additively_and_5xx_backs_off():
    limiter, _ = _limiter(start=2.0, step=1.0, max_rate=3.0)
    limiter.server_error()
    assert limiter.rate == 1.6 and not limiter.in_slow_start
    for _ in range(100):
        limiter.succeeded()
    assert limiter.rate == 3.0  # capped


def test_slow_start_doubles_per_second_of_successes_until_the_first_throttle():
    limiter, clock = _limiter(start=4.0, step=1.0)
    for _ in range(4):  # one second of successes at 4/s
        limiter.acquire()
        limiter.succeeded()
    assert limiter.rate == 8.0 and limiter.in_slow_start
    limiter.throttled(0.0)
    assert not limiter.in_slow_start
    rate = limiter.rate
    limiter.succeeded()
    assert limiter.rate == rate + 1.0 / rate  # additive from now on


def test_the_429_ending_the_slow_start_cuts_from_the_rate_requests_actually_went_at():
    """A rate doubled far above what the callers used (they were few) is cut from what they used."""
    limiter, clock = _limiter(start=100.0, step=0.0, throttle_factor=0.5)
    for _ in range(10):  # ten requests in the last second, one every 0.1 s
        limiter.acquire()
        clock.sleep(0.1)
    limiter.throttled(1.0)
    assert limiter.rate == 5.0


def test_unpaced_when_no_start_rate():
    limiter, clock = _limiter(start=None)
    limiter.throttled(5.0)
    assert limiter.acquire() == 0.0 and limiter.rate is None and clock.now == 100.0


def test_a_throttled_replica_is_used_at_its_rate_without_a_failure(replica_factory, tmp_path):
    """40 requests per 4 s (10/s) allowed; the client starts too fast (30/s), is throttled, adapts:
    every product and crop arrives and at least 80 % of the allowed rate is used."""
    limit, window = 40, 4.0
    throttled = replica_factory(rate_limit=limit, rate_window=window)
    with CarbonMapperClient(throttled.api_url, email=throttled.email, password=throttled.password,
                            rate=RatePolicy(start=30.0)) as client:
        plumes = list(client.iter_plumes(observed=("2025-06-01T00:00:00Z", "2025-12-31T00:00:00Z")))[:16]
        assert len(plumes) >= 8

        def fetch(record) -> int:
            products = client.plume_products(record)
            saved = 0
            for name in PLUME_PRODUCTS:
                try:
                    products.save(name, tmp_path / record.plume_id / name)
                    saved += 1
                except ProductNotAvailable:
                    pass
            try:
                client.scene_for_plume(record).crop("cmf", products.outline, pad_px=16)
            except SceneNotPublished:
                pass
            return saved

        admin(throttled, "POST", "/stats/reset")
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            saved = list(pool.map(fetch, plumes))  # any failure raises here
        wall = time.monotonic() - started
    stats = admin(throttled, "GET", "/stats")
    served = sum(n for cls in stats["classes"].values() for code, n in cls["status"].items() if code != "429")
    throttles = sum(cls["status"].get("429", 0) for cls in stats["classes"].values())
    assert all(n >= 5 for n in saved)
    assert throttles > 0, "the test must exercise throttling"
    print(f"rate used: {served / wall:.2f}/s of {limit / window:.2f}/s, {throttles} throttled")
    assert served / wall >= 0.8 * limit / window, f"{served} requests in {wall:.1f} s"
