"""Figures rendered apart from the fetch that loaded their arrays, written with the day's table.

Rendering a picture is CPU (the Pillow canvas of ``cm_assets.reports.plots``) and mostly holds
the GIL. With ``workers > 0`` each figure is handed to a pool of worker processes (``spawn``:
safe next to threads; shared by the whole run process); ``workers=0`` draws on the calling
thread. ``workers=None`` (the default) decides by the run's size: a process's first
:data:`AUTO_AFTER` pictures are drawn on the calling threads, later ones by :data:`AUTO_WORKERS`
processes (on the calling threads still until one of those has started: their start-up is never
waited for). A small run never pays a worker's start-up; a large one draws beside the run's own
process (docs/pipeline.md, Figures). Either way the PNG is
written by :func:`write_figures` when the day's table is assembled.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context

from cm_assets.carbonmapper.errors import describe
from cm_assets.defs.figure_worker import exit_with
from cm_assets.storage.store import Storage

#: ``workers`` of the assets' configs by default: decided by the run's size (see the module doc).
FIGURE_WORKERS: int | None = None
#: Pictures a process draws on its own threads before handing the rest to worker processes.
AUTO_AFTER = 80


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: Worker processes of a run past :data:`AUTO_AFTER` pictures: one per core but one, which the run's
#: own process (fetching, tables, holding the GIL) keeps; none on a single core. On 2 cores one
#: worker ran 30 days as fast as two, with 1.1–1.6 s less CPU (docs/pipeline.md, Figures).
AUTO_WORKERS = max(0, _usable_cores() - 1)
WORKERS_HELP = (f"Processes rendering the pictures: 0 on the fetching threads; unset: on them for the run's first "
                f"{AUTO_AFTER} pictures, then in one worker process per core but one (none on a single core).")

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}
_started: dict[int, Future] = {}
_drawn = 0


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``workers`` processes (started once, shut down at exit)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                                         initializer=exit_with, initargs=(os.getpid(),))
            _started[workers] = pool.submit(os.getpid)  # done once a worker has started
        return pool


def _started_pool(workers: int) -> ProcessPoolExecutor | None:
    """The pool of ``workers`` processes once one of them runs, else None (it is being started:
    a process takes about a second to import the drawing code, which no figure should wait for)."""
    pool = _pool(workers)
    return pool if _started[workers].done() else None


def _discard(workers: int, pool: ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(workers) is pool:
            del _pools[workers], _started[workers]
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pools() -> None:
    """Stop this process's figure workers (they start again on the next figure); at exit, and
    where one process runs many runs (benchmarks, tests) and each should count its own pictures
    and pay for its own start-up."""
    global _drawn
    with _lock:
        _drawn = 0
        pools = list(_pools.values())
        _pools.clear()
        _started.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class PendingFigure:
    """A figure being rendered; :func:`write_figures` stores it under ``rel``."""

    rel: str
    png: Future


def _auto_workers() -> int:
    global _drawn
    with _lock:
        _drawn += 1
        return AUTO_WORKERS if _drawn > AUTO_AFTER else 0


def render(rel: str, draw: Callable[..., bytes], *args, workers: int | None = FIGURE_WORKERS) -> PendingFigure:
    """Start rendering ``draw(*args)`` (a picklable module-level function) for ``rel`` on
    ``workers`` processes (0: on this thread; None: by the run's size, on this thread until the
    worker processes have started)."""
    pool = None
    if workers is None:
        workers = _auto_workers()
        pool = _started_pool(workers) if workers > 0 else None
    elif workers > 0:
        pool = _pool(workers)
    if pool is None:
        done: Future = Future()
        try:
            done.set_result(draw(*args))
        except Exception as error:
            done.set_exception(error)
        return PendingFigure(rel, done)
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
