"""Figures rendered off the fetching threads, in a small pool of processes shared by the run.

Rendering a picture is pure CPU in matplotlib (≈ 1 s each here) and holds the GIL, so drawn on the
threads that fetch it stalls every request in flight. Each figure is instead handed to a worker
process (``spawn``: safe next to threads) and its PNG is written by the caller when the day's table
is assembled. ``workers=0`` renders inline (no processes).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context

from cm_assets.carbonmapper.errors import describe
from cm_assets.defs.storage import Storage

#: Worker processes rendering figures (the machine's other cores fetch and parse).
FIGURE_WORKERS = 2

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``workers`` processes (started once, shut down at exit)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        return pool


def _discard(workers: int, pool: ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(workers) is pool:
            del _pools[workers]
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _shutdown() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class PendingFigure:
    """A figure being rendered; :func:`write_figures` stores it under ``rel``."""

    rel: str
    png: Future


def render(rel: str, draw: Callable[..., bytes], *args, workers: int = FIGURE_WORKERS) -> PendingFigure:
    """Start rendering ``draw(*args)`` (a picklable module-level function) for ``rel``."""
    if workers <= 0:
        done: Future = Future()
        try:
            done.set_result(draw(*args))
        except Exception as error:
            done.set_exception(error)
        return PendingFigure(rel, done)
    pool = _pool(workers)
    try:
        return PendingFigure(rel, pool.submit(draw, *args))
    except (BrokenProcessPool, RuntimeError):  # a worker died earlier: start a new pool once
        _discard(workers, pool)
        return PendingFigure(rel, _pool(workers).submit(draw, *args))


def write_figures(rows: list[dict], store: Storage, log: logging.Logger | None = None) -> list[dict]:
    """Wait for the rows' pending figures and write them; a failed figure is logged and left empty
    (the plume's data row stands)."""
    for row in rows:
        for column, value in list(row.items()):
            if not isinstance(value, PendingFigure):
                continue
            try:
                row[column] = store.write_bytes(value.rel, value.png.result())
            except Exception as error:
                row[column] = None
                if log is not None:
                    log.warning(f"{row.get('plume_id', value.rel)}: figure {value.rel} failed: {describe(error)}")
    return rows
