"""The carbonmapper resource's shared budget: off by default, bound to the deployment's variables,
handed to every client it makes, and never holding a password as a value."""

from __future__ import annotations

import pytest
from dagster import EnvVar

from cm_assets.carbonmapper import BudgetSpec
from cm_assets.defs.resources import CarbonMapperResource, LiteralSecretError

pytestmark = pytest.mark.fast


def test_off_by_default_and_bound_to_the_environment(monkeypatch, tmp_path):
    for name in ("CARBONMAPPER_BUDGET_REQUESTS", "CARBONMAPPER_BUDGET_WINDOW", "CARBONMAPPER_BUDGET_STORE"):
        monkeypatch.delenv(name, raising=False)
    assert CarbonMapperResource.from_environment().budget() is None
    monkeypatch.setenv("CARBONMAPPER_BUDGET_REQUESTS", "300")
    monkeypatch.setenv("CARBONMAPPER_BUDGET_WINDOW", "30")
    monkeypatch.setenv("CARBONMAPPER_BUDGET_STORE", str(tmp_path / "b.sqlite"))
    resource = CarbonMapperResource.from_environment()
    assert resource.budget_requests == EnvVar.int("CARBONMAPPER_BUDGET_REQUESTS")
    assert resource.budget_store == EnvVar("CARBONMAPPER_BUDGET_STORE")


def test_every_client_draws_from_the_budget(monkeypatch, tmp_path):
    monkeypatch.setenv("CARBONMAPPER_TOKEN", "a-token")
    resource = CarbonMapperResource(api_url="http://127.0.0.1:9/api/v1", budget_requests=50,
                                    budget_window=10, budget_store=str(tmp_path / "b.sqlite"))
    assert resource.budget() == BudgetSpec(50, 10.0, str(tmp_path / "b.sqlite"))
    with resource.get_client() as client:
        assert client.transport.limiter.budget is client.transport.budget is not None


def test_a_redis_password_is_refused_as_a_value():
    with pytest.raises(LiteralSecretError) as error:
        CarbonMapperResource(budget_requests=5, budget_store="redis://:hunter22@redis-host:6379/1")
    assert "hunter22" not in str(error.value)
