"""Figures rendered apart from the fetch that loaded their arrays, written with the day's table.

Rendering a picture is CPU (the Pillow canvas of ``cm_assets.reports.plots``) and mostly holds
the GIL. With ``workers > 0`` each figure is handed to a pool of worker processes (``spawn``:
safe next to threads; shared by the whole run process); ``workers=0`` draws on the calling
thread. ``workers=None`` (the default) uses :data:`AUTO_WORKERS` processes, which a step starts
(:func:`start_workers`) as soon as it knows it has a plume to draw, so that their ~1 s of imports
overlaps its fetching (a step with nothing to draw starts none), else the first picture starts them;
until one of them runs, pictures are drawn on the calling threads (a start-up is never waited
for). Either way the PNG is written by :func:`write_figures` when the day's table is assembled; a
caller with nothing else to do meanwhile draws the pictures no worker has taken yet itself.

A process whose workers cannot start (a daemonic one such as a Celery pool worker, or a script
that runs Dagster without an ``if __name__ == "__main__":`` guard: ``spawn`` re-imports it in each
worker) draws every picture on its own threads, those handed to the pool that failed to start
included, with one warning. A picture whose worker died while running is logged as failed: it may
be what killed the worker.
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
from multiprocessing import current_process, get_context

from cm_assets.carbonmapper.errors import describe
from cm_assets.defs.figure_worker import exit_with
from cm_assets.storage.store import Storage

_log = logging.getLogger(__name__)

#: ``workers`` of the assets' configs by default: :data:`AUTO_WORKERS` processes (see the module doc).
FIGURE_WORKERS: int | None = None


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: Worker processes of ``workers=None``: one per core but one, which the run's own process (fetching,
#: tables, holding the GIL) keeps; none on a single core. On 2 cores one worker ran 30 days as fast
#: as two, with 1.1–1.6 s less CPU (docs/pipeline.md, Figures).
AUTO_WORKERS = max(0, _usable_cores() - 1)
WORKERS_HELP = ("Processes rendering the pictures: 0 on the fetching threads; unset: one worker process per core "
                "but one (none on a single core), started once the step has pictures to draw; until one runs, "
                "pictures are drawn on the fetching threads.")

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}
#: Each pool's first call: done once one of its workers runs.
_started: dict[ProcessPoolExecutor, Future] = {}
#: Why this process cannot start figure workers (None: it can); then pictures are drawn on its threads.
_cannot_start: str | None = None
GUARD_HINT = ("a script that runs Dagster must keep its top level under `if __name__ == \"__main__\":` "
              "(each worker process re-imports it)")


def _pool(workers: int) -> ProcessPoolExecutor | None:
    """The process-wide pool of ``workers`` processes (started once, shut down at exit); None
    once a pool's workers could not start in this process."""
    with _lock:
        if _cannot_start is None and current_process().daemon:
            _give_up("this process is daemonic (a Celery pool worker, for one) and may not start processes")
        if _cannot_start is not None:
            return None
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                                         initializer=exit_with, initargs=(os.getpid(),))
            _started[pool] = pool.submit(os.getpid)
        return pool


def _started_pool(workers: int) -> ProcessPoolExecutor | None:
    """The pool of ``workers`` processes once one of them runs, else None (it is being started:
    a process takes about a second to import the drawing code, which no figure should wait for)."""
    pool = _pool(workers)
    started = _started.get(pool)
    return pool if pool is not None and started is not None and started.done() else None


def _give_up(reason: str) -> None:
    """No figure worker will start in this process (called under ``_lock``); said once."""
    global _cannot_start
    _cannot_start = reason
    _log.warning(f"figure worker processes cannot start: {reason}; pictures are drawn on the run's threads")


def _discard(workers: int, pool: ProcessPoolExecutor, error: Exception) -> None:
    """Forget a pool that failed with ``error``; if it broke before any of its workers ran, start no
    other (each picture would start, and lose, another process)."""
    with _lock:
        if _pools.get(workers) is pool:
            started = _started.pop(pool)
            del _pools[workers]
            if isinstance(error, BrokenProcessPool) and not _ran(started) and _cannot_start is None:
                _give_up(f"{describe(error)} ({GUARD_HINT})")
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pools() -> None:
    """Stop this process's figure workers (they start again on the next figure); at exit, and
    where one process runs many runs (benchmarks, tests) and each should pay for its own start-up."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
        _started.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class PendingFigure:
    """A figure being rendered (``draw(*args)``); :func:`write_figures` stores it under ``rel``."""

    rel: str
    png: Future
    draw: Callable[..., bytes]
    args: tuple
    #: The start of the pool ``png`` was handed to (None: drawn on a thread).
    pool_started: Future | None = None

    def draw_here(self) -> None:
        """Draw the figure on this thread if no worker has taken it yet."""
        if self.png.cancel():
            self.png = _drawn(self.draw, self.args)

    def result(self) -> bytes:
        """The PNG, once drawn; drawn on this thread if its pool broke before any of its workers ran
        (a worker that died while running may have died of this very picture: that error stands)."""
        try:
            return self.png.result()
        except BrokenProcessPool:
            if self.pool_started is None or _ran(self.pool_started):
                raise
            self.png = _drawn(self.draw, self.args)
            return self.png.result()


def _ran(started: Future) -> bool:
    """Whether a pool's first call (see :func:`_pool`) ran in one of its workers."""
    return started.done() and not started.cancelled() and started.exception() is None


def _drawn(draw: Callable[..., bytes], args: tuple) -> Future:
    """``draw(*args)`` run on this thread, as a done future."""
    done: Future = Future()
    try:
        done.set_result(draw(*args))
    except Exception as error:
        done.set_exception(error)
    return done


def start_workers(workers: int | None = FIGURE_WORKERS) -> None:
    """Start the worker processes that :func:`render` with ``workers`` will use, without waiting
    for them: a step calls this as soon as it knows it has a plume to draw."""
    count = AUTO_WORKERS if workers is None else workers
    if count > 0:
        _pool(count)


def render(rel: str, draw: Callable[..., bytes], *args, workers: int | None = FIGURE_WORKERS,
           start: bool = True) -> PendingFigure:
    """Start rendering ``draw(*args)`` (a picklable module-level function) for ``rel`` on
    ``workers`` processes (0: on this thread; None: :data:`AUTO_WORKERS` processes, on this thread
    until one of them runs). ``start=False``: on this thread unless the workers were started."""
    count = AUTO_WORKERS if workers is None else workers
    pool = None
    if count > 0 and (start or count in _pools):
        pool = _started_pool(count) if workers is None else _pool(count)
    try:
        return _handed(rel, pool, draw, args)
    except (BrokenProcessPool, RuntimeError) as error:  # a worker died earlier: start a new pool once
        _discard(count, pool, error)
        return _handed(rel, _pool(count), draw, args)


def _handed(rel: str, pool: ProcessPoolExecutor | None, draw: Callable[..., bytes], args: tuple) -> PendingFigure:
    """``draw(*args)`` handed to ``pool``, or drawn on this thread without one."""
    if pool is None:
        return PendingFigure(rel, _drawn(draw, args), draw, args)
    return PendingFigure(rel, pool.submit(draw, *args), draw, args, _started.get(pool))


def write_figures(rows: list[dict], store: Storage, log: logging.Logger | None = None,
                  draw_queued: bool = False) -> list[dict]:
    """Wait for the rows' pending figures and write them; a failed figure is logged and left empty
    (the plume's data row stands). ``draw_queued``: first draw the figures no worker has taken
    yet on this thread, from the last one back while the workers take them from the first (for a
    caller with nothing else to do: the queue drains about twice as fast on two cores)."""
    pending = [(row, column, value) for row in rows for column, value in row.items()
               if isinstance(value, PendingFigure)]
    if draw_queued:
        for _, _, figure in reversed(pending):
            figure.draw_here()
    for row, column, figure in pending:
        try:
            row[column] = store.write_bytes(figure.rel, figure.result())
        except Exception as error:
            row[column] = None
            if log is not None:
                log.warning(f"{row.get('plume_id', figure.rel)}: figure {figure.rel} failed: {describe(error)}")
    return rows
