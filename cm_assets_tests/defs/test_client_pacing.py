"""The carbonmapper resource's pacing across the clients it makes: each asset of a run opens its
own client, and the rate the previous one reached carries to it; a new run starts over."""

from __future__ import annotations

from dagster import asset, materialize

from cm_assets.carbonmapper.ratelimit import RatePolicy
from cm_assets.defs.resources import CarbonMapperResource
from cm_assets_tests.helpers.replica import CREDENTIAL_ENV, replica_resource


def _succeed(client, requests: int = 20) -> None:
    for _ in range(requests):
        assert client.transport.get_json("/catalog/plumes/annotated", params={"limit": 1}) is not None


def test_a_client_starts_at_the_rate_the_resources_previous_client_reached(local_replica):
    resource = replica_resource(local_replica)
    with resource.get_client() as first:
        assert first.transport.limiter.rate == RatePolicy.start
        _succeed(first)
        reached = first.transport.limiter.rate
    assert reached > RatePolicy.start
    with resource.get_client() as second:
        assert second.transport.limiter.rate == reached and second.transport.limiter.in_slow_start
        second.transport.limiter.throttled(0.0)  # what a 429 does
        lowered = second.transport.limiter.rate
    assert lowered < reached
    with resource.get_client() as third:  # down as well as up, and out of the slow start
        assert third.transport.limiter.rate == lowered and not third.transport.limiter.in_slow_start
    unpaced = CarbonMapperResource(api_url=local_replica.api_url, rate_start=None, **CREDENTIAL_ENV)
    for _ in range(2):
        with unpaced.get_client() as client:
            _succeed(client, 3)
            assert client.transport.limiter.rate is None


def test_in_a_run_the_next_asset_continues_the_pacing_and_the_next_run_starts_over(local_replica):
    starts: list[float | None] = []

    @asset
    def first_asset(carbonmapper: CarbonMapperResource) -> None:
        with carbonmapper.get_client() as client:
            starts.append(client.transport.limiter.rate)
            _succeed(client)

    @asset(deps=[first_asset])
    def second_asset(carbonmapper: CarbonMapperResource) -> None:
        with carbonmapper.get_client() as client:
            starts.append(client.transport.limiter.rate)

    resource = replica_resource(local_replica)
    for _ in range(2):
        assert materialize([first_asset, second_asset], resources={"carbonmapper": resource}).success
    assert starts[0] == starts[2] == RatePolicy.start  # each run gets its own resource: it starts over
    assert starts[1] > RatePolicy.start and starts[3] > RatePolicy.start
