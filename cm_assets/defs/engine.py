"""One bounded pool of in-flight work for every day of a run; each day written when it is done.

A day is planned as independent tasks (a plume, or a scene and its plumes) and an ``assemble``
step turning their rows into the day's table. All tasks of all days go into one thread pool, so
a backfill of days holding two plumes each keeps ``workers`` fetches in flight instead of two.
A day's table is written as soon as its last task finishes: a killed run keeps its finished days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import pandas as pd


@dataclass
class DayPlan:
    """The work of one day: ``tasks`` return rows; ``assemble`` turns all rows (task order) into
    the day's table."""

    day: str
    tasks: list[Callable[[], list[dict]]]
    assemble: Callable[[list[dict]], pd.DataFrame]


def run_days(plans: Iterable[DayPlan], workers: int,
             write: Callable[[str, pd.DataFrame], None]) -> list[pd.DataFrame]:
    """Run every plan's tasks on one pool of ``workers`` threads; ``write(day, table)`` each day as
    soon as its tasks are done. Returns the tables in plan order. A task's exception (tasks catch
    their own per-item errors) stops the run: queued tasks are cancelled and it propagates."""
    plans = list(plans)
    tables: dict[int, pd.DataFrame] = {}
    rows: dict[int, list[list[dict] | None]] = {n: [None] * len(p.tasks) for n, p in enumerate(plans)}
    remaining = {n: len(p.tasks) for n, p in enumerate(plans)}

    def finish(n: int) -> None:
        table = plans[n].assemble([row for part in rows[n] for row in (part or [])])
        write(plans[n].day, table)
        tables[n] = table

    executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fetch")
    try:
        owner: dict[Future, tuple[int, int]] = {executor.submit(task): (n, index)
                                                for n, plan in enumerate(plans)
                                                for index, task in enumerate(plan.tasks)}
        for n, plan in enumerate(plans):
            if not plan.tasks:
                finish(n)
        pending = set(owner)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=owner.__getitem__):
                n, index = owner[future]
                rows[n][index] = future.result()  # raises a run-wide error
                remaining[n] -= 1
                if remaining[n] == 0:
                    finish(n)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return [tables[n] for n in range(len(plans))]
