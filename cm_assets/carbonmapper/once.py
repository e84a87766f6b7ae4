"""Values computed once per key by whichever thread asks first, the others waiting for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future
from typing import Generic, TypeVar

V = TypeVar("V")


class OncePerKey(Generic[V]):
    """Each key's value computed once, by the first caller of :meth:`get`; callers asking meanwhile
    wait for that value instead of computing it again. An error reaches the callers waiting for
    it and is not kept: the next caller computes the value again (a failed fetch is retried)."""

    def __init__(self, known: Mapping[Hashable, V] | None = None) -> None:
        """``known``: values already at hand (computed elsewhere), given as they are."""
        self._values: dict[Hashable, Future] = {}
        for key, value in (known or {}).items():
            self._values[key] = Future()
            self._values[key].set_result(value)
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            value = self._values.get(key)
            first = value is None
            if first:
                value = self._values[key] = Future()
        if first:
            try:
                value.set_result(compute())
            except BaseException as error:  # reaches the callers waiting now
                with self._lock:
                    del self._values[key]
                value.set_exception(error)
        return value.result()
