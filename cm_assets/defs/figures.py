"""Figures rendered apart from the fetch that loaded their arrays, written with the day's table.

Rendering a picture is CPU (the Pillow canvas of ``cm_assets.reports.plots``) and mostly holds
the GIL. With ``workers > 0`` each figure is handed to a pool of worker processes
(``spawn``: safe next to threads; shared by the whole run process) — only worth it where cores are
free and pictures are many. ``workers=0`` (the default) draws on the calling thread: on 2 cores,
2 workers gained nothing on a 10-day run (their ~2 s start-up) and 9 % on a 30-day one (see
docs/pipeline.md, Figures). Either way the PNG is written by :func:`write_figures` when the day's table is
assembled.
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
from cm_assets.storage.store import Storage

#: Worker processes rendering figures by default (0: on the calling thread).
FIGURE_WORKERS = 0

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
