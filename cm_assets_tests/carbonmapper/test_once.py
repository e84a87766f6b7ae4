"""OncePerKey: a value computed once per key, given values kept, errors not kept."""

from __future__ import annotations

import pytest

from cm_assets.carbonmapper.once import OncePerKey

pytestmark = pytest.mark.fast


def test_a_value_is_computed_once_and_known_values_never():
    calls: list[str] = []
    once = OncePerKey({"given": 0})
    assert once.get("given", lambda: calls.append("given") or 1) == 0
    assert [once.get("a", lambda: calls.append("a") or len(calls)) for _ in range(3)] == [1, 1, 1]
    assert calls == ["a"]


def test_an_error_is_not_kept():
    once: OncePerKey[int] = OncePerKey()

    def failing() -> int:
        raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        once.get("a", failing)
    assert once.get("a", lambda: 7) == 7
