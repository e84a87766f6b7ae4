"""The run-wide pool: tasks of all days share it, days are written when done, errors stop the run;
figures are rendered in worker processes and written with the day."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cm_assets.defs import figures
from cm_assets.reports import plots
from cm_assets.defs.engine import DayPlan, run_days
from cm_assets.storage.store import Storage

WAIT = 20.0


def _plan(day: str, tasks) -> DayPlan:
    return DayPlan(day, list(tasks), lambda rows: pd.DataFrame(rows))


@pytest.mark.fast
def test_tasks_of_all_days_share_one_pool():
    """Two plumes a day, four workers: four tasks must be in flight at once (a per-day pool never
    gets past two and the barrier breaks)."""
    barrier = threading.Barrier(4, timeout=WAIT)

    def task(day: str, n: int):
        return lambda: [{"day": day, "n": n, "party": barrier.wait()}]

    written: list[str] = []
    tables = run_days([_plan(d, [task(d, 0), task(d, 1)]) for d in ("d1", "d2")], 4,
                      lambda day, table: written.append(day))
    assert sorted(written) == ["d1", "d2"]
    assert [list(t["n"]) for t in tables] == [[0, 1], [0, 1]]


@pytest.mark.fast
def test_a_day_is_written_as_soon_as_its_tasks_are_done():
    day1_written = threading.Event()

    def slow_task():
        assert day1_written.wait(WAIT), "day 1 was not written while day 2 was still running"
        return [{"n": 1}]

    run_days([_plan("d1", [lambda: [{"n": 0}]]), _plan("d2", [slow_task])], 2,
             lambda day, table: day1_written.set() if day == "d1" else None)


@pytest.mark.fast
def test_an_error_stops_the_run_and_keeps_finished_days():
    written: list[str] = []
    gate = threading.Event()

    def fail():
        assert gate.wait(WAIT)
        raise RuntimeError("run-wide")

    def record(day, table):
        written.append(day)
        gate.set()

    with pytest.raises(RuntimeError, match="run-wide"):
        run_days([_plan("d1", [lambda: [{"n": 0}]]), _plan("d2", [fail, lambda: [{"n": 2}]])], 2, record)
    assert written == ["d1"]


@pytest.mark.fast
def test_a_day_without_tasks_is_written_empty():
    written = {}
    run_days([_plan("d1", [])], 2, written.__setitem__)
    assert list(written) == ["d1"] and written["d1"].empty


def _detections() -> pd.DataFrame:
    return pd.DataFrame({"scene_timestamp": ["2026-01-01T10:00:00Z", "2026-02-01T10:00:00Z"],
                         "emission_auto": [100.0, 250.0], "instrument": ["tan", "av3"]})


@pytest.mark.parametrize("workers", [pytest.param(0, marks=pytest.mark.fast), 1])  # 1: a process pool (slow to start)
def test_figures_are_rendered_and_written(tmp_path, workers):
    store = Storage(str(tmp_path))
    rows = [{"plume_id": "p", "png": figures.render("plots/p.png", plots.source_timeline, "s", _detections(),
                                                     180.0, workers=workers)}]
    (row,) = figures.write_figures(rows, store)
    data = (tmp_path / "plots" / "p.png").read_bytes()
    assert row["png"] == store.uri("plots/p.png") and data.startswith(b"\x89PNG") and len(data) > 10_000


def test_a_failed_figure_leaves_the_row_and_is_logged(tmp_path, caplog):  # a process pool: not in the fast layer
    store = Storage(str(tmp_path))
    rows = [{"plume_id": "p", "value": 3,
             "png": figures.render("plots/p.png", plots.source_timeline, "s", None, 1.0, workers=1)}]
    with caplog.at_level(logging.WARNING):
        (row,) = figures.write_figures(rows, store, logging.getLogger("t"))
    assert row["png"] is None and row["value"] == 3
    assert not (tmp_path / "plots" / "p.png").exists()
    assert "figure plots/p.png failed" in caplog.text


def drawn_by(after_s: float = 0.0) -> bytes:
    """A "picture" naming the process that drew it and when, ``after_s`` seconds after it began (a
    module-level function: a worker can run it)."""
    time.sleep(after_s)
    return f"{os.getpid()} {time.monotonic_ns()}".encode()


def drawer(figure: figures.PendingFigure) -> int:
    """The process that drew a :func:`drawn_by` picture."""
    return int(figure.png.result(timeout=WAIT).split()[0])


def test_by_default_pictures_are_drawn_here_until_a_started_worker_runs(tmp_path, monkeypatch):
    """Once a step has started the worker processes (as soon as it has a plume to draw), pictures
    are still drawn here until one of them runs (a process takes far longer to start than a picture
    takes to hand over); then the pool draws them."""
    figures.shutdown_pools()
    monkeypatch.setattr(figures, "AUTO_WORKERS", 1)
    store = Storage(str(tmp_path))

    def render(n: int) -> dict:
        return {"plume_id": f"p{n}", "png": figures.render(f"plots/p{n}.png", plots.source_timeline, "s",
                                                            _detections(), 180.0)}

    figures.start_workers(None)
    assert list(figures._pools) == [1]
    pool = figures._pools[1]
    started, figures._started[pool] = figures._started[pool], Future()  # as while the worker still imports
    rows = [render(0)]
    assert rows[0]["png"].png.done() and drawer(figures.render("plots/second.png", drawn_by)) == os.getpid()  # drawn here
    started.result(timeout=WAIT)
    figures._started[pool] = started
    assert drawer(figures.render("plots/third.png", drawn_by)) != os.getpid()  # once one runs, the pool draws
    rows.append(render(3))
    written = figures.write_figures(rows, store)
    assert [(tmp_path / "plots" / f"p{n}.png").read_bytes()[:4] for n in (0, 3)] == [b"\x89PNG"] * 2
    assert all(row["png"] == store.uri(f"plots/{row['plume_id']}.png") for row in written)
    figures.shutdown_pools()
    assert figures._pools == {}
    monkeypatch.setattr(figures, "AUTO_WORKERS", 0)  # a single core: no worker, drawn here
    figures.start_workers(None)
    assert figures._pools == {} and drawer(figures.render("plots/single.png", drawn_by)) == os.getpid()


def test_a_caller_with_nothing_else_to_do_draws_the_queued_pictures(tmp_path):
    """With ``draw_queued``, the pictures no worker has taken yet are drawn by the caller, from the
    last one back, instead of waiting behind the busy worker; those a worker took are its own."""
    figures.shutdown_pools()
    store = Storage(str(tmp_path))
    with multiprocessing.get_context("spawn").Manager() as manager, ThreadPoolExecutor(1) as caller:
        release = manager.Event()
        pool = figures._pool(1)
        worker = figures._started[pool].result(timeout=WAIT)
        busy = pool.submit(release.wait, WAIT)  # the single worker is kept busy
        rows = [{"plume_id": f"p{n}", "png": figures.render(f"plots/p{n}.png", drawn_by, workers=1)}
                for n in range(5)]
        deadline = time.monotonic() + WAIT
        while not rows[0]["png"].png.running() and time.monotonic() < deadline:  # handed to the worker
            time.sleep(0.01)
        writing = caller.submit(figures.write_figures, rows, store, None, True)
        while not rows[2]["png"].png.done() and time.monotonic() < deadline:  # the caller's last one
            time.sleep(0.01)
        assert all(row["png"].png.done() for row in rows[2:]) and not rows[0]["png"].png.done()
        assert not busy.done()
        release.set()
        written = writing.result(timeout=WAIT)
    drawers, times = zip(*[map(int, (tmp_path / "plots" / f"p{n}.png").read_text().split()) for n in range(5)])
    # the pool may have handed the worker p1 too (it queues a call ahead)
    assert drawers[0] == worker and drawers[1] in (worker, os.getpid()) and drawers[2:] == (os.getpid(),) * 3
    assert times[2] > times[3] > times[4]  # from the last one back
    assert all(row["png"] == store.uri(f"plots/{row['plume_id']}.png") for row in written)
    figures.shutdown_pools()


def test_a_dead_worker_is_replaced_by_a_new_pool_of_the_same_size(monkeypatch):
    figures.shutdown_pools()
    monkeypatch.setattr(figures, "AUTO_WORKERS", 1)
    figures.start_workers(None)
    dead = figures._started[figures._pools[1]].result(timeout=WAIT)
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + WAIT
    drew = dead
    while drew == dead and time.monotonic() < deadline:  # until the pool notices, figures fail
        try:
            drew = drawer(figures.render("p.png", drawn_by))
        except BrokenProcessPool:
            continue
    assert drew not in (dead, os.getpid()) and list(figures._pools) == [1]
    figures.shutdown_pools()


def test_a_picture_whose_worker_died_drawing_it_is_logged_not_drawn_here(tmp_path, caplog):
    """The picture may be what killed its worker: drawing it in the run's process could kill the run."""
    figures.shutdown_pools()
    worker = figures._started[figures._pool(1)].result(timeout=WAIT)
    rows = [{"plume_id": "p", "png": figures.render("plots/p.png", drawn_by, 30.0, workers=1)}]
    deadline = time.monotonic() + WAIT
    while not rows[0]["png"].png.running() and time.monotonic() < deadline:  # the worker draws it
        time.sleep(0.01)
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        (row,) = figures.write_figures(rows, Storage(str(tmp_path)), logging.getLogger("t"))
    assert row["png"] is None and not (tmp_path / "plots" / "p.png").exists()
    assert "figure plots/p.png failed" in caplog.text and time.monotonic() - started < 30  # not redrawn
    figures.shutdown_pools()


@pytest.mark.fast
def test_a_daemonic_process_draws_its_pictures_itself(monkeypatch, caplog):
    """A daemonic process (a Celery pool worker) may not start processes: no pool, one warning."""
    figures.shutdown_pools()
    monkeypatch.setattr(figures, "_cannot_start", None)
    monkeypatch.setattr(figures, "current_process", lambda: SimpleNamespace(daemon=True))
    with caplog.at_level(logging.WARNING):
        figures.start_workers(1)
        pending = [figures.render("p.png", drawn_by, workers=workers) for workers in (1, None, 1)]
    assert figures._pools == {} and all(drawer(p) == os.getpid() for p in pending)
    assert caplog.text.count("figure worker processes cannot start: this process is daemonic") == 1


UNGUARDED_RUN = textwrap.dedent("""
    import os
    from concurrent.futures import wait
    import pandas as pd
    from cm_assets.defs import figures
    from cm_assets.reports import plots
    from cm_assets.storage.store import Storage
    with open("ran", "a") as ran:  # each process that runs this top level
        ran.write(f"{os.getpid()}\\n")
    detections = pd.DataFrame({"scene_timestamp": ["2026-01-01T10:00:00Z"], "emission_auto": [1.0],
                               "instrument": ["tan"]})
    def render(name):
        return {"plume_id": name, "png": figures.render(f"plots/{name}.png", plots.source_timeline, "s",
                                                        detections, 1.0, workers=1)}
    rows = [render(f"p{n}") for n in range(6)]
    wait([rows[0]["png"].png])  # the worker died re-running this top level
    rows += [render("late"), render("later")]
    figures.write_figures(rows, Storage("."))
""")


def test_a_script_without_a_main_guard_gets_its_pictures_and_one_warning(tmp_path):
    """spawn re-imports the main script in each worker: unguarded, the worker dies re-running it.
    The script's pictures are then drawn by itself, and no second worker is started."""
    (tmp_path / "run.py").write_text(UNGUARDED_RUN)
    run = subprocess.run([sys.executable, "run.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["late.png", "later.png"] + [f"p{n}.png" for n in range(6)]
    assert all((tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in pngs)
    assert len((tmp_path / "ran").read_text().split()) == 2  # the script and one worker
    assert run.stderr.count("figure worker processes cannot start") == 1 and figures.GUARD_HINT in run.stderr


@pytest.mark.fast
def test_a_picture_that_must_not_start_workers_is_drawn_here_without_them(tmp_path, monkeypatch):
    figures.shutdown_pools()
    monkeypatch.setattr(figures, "AUTO_WORKERS", 1)
    pending = figures.render("plots/p.png", drawn_by, start=False)
    assert figures._pools == {} and drawer(pending) == os.getpid()


RUN_WITH_A_WORKER = textwrap.dedent("""
    import os, time
    import pandas as pd
    from cm_assets.defs import figures
    from cm_assets.reports import plots
    if __name__ == "__main__":
        detections = pd.DataFrame({"scene_timestamp": ["2026-01-01T10:00:00Z"], "emission_auto": [1.0],
                                   "instrument": ["tan"]})
        figures.render("p.png", plots.source_timeline, "s", detections, 1.0, workers=1).png.result()
        print(os.getpid(), flush=True)
        time.sleep(600)
""")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_run_leaves_no_figure_worker_behind(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(RUN_WITH_A_WORKER)
    run = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    workers: list[int] = []
    try:
        pid = int(run.stdout.readline())
        workers = _children(pid)  # the figure worker (and multiprocessing's resource tracker)
        assert workers and all(_running(w) for w in workers)
        run.kill()
        run.wait()
        deadline = time.monotonic() + 30
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)]
    finally:
        run.kill()
        for worker in workers:
            if _running(worker):
                os.kill(worker, 9)


@pytest.mark.fast
def test_a_step_with_nothing_to_draw_starts_no_worker(local_replica, crops_stage, tmp_path):
    """A rerun whose plumes are all done (products reused, crops kept) starts no worker process; a
    plume to draw again does."""
    from cm_assets.defs.catalog.assets import plume_catalog
    from cm_assets.defs.products.assets import ProductsConfig, plume_products
    from cm_assets.defs.scenes.assets import CropConfig, scene_crops
    from cm_assets.storage import layout
    from cm_assets_tests.helpers.assets import run_asset

    day = crops_stage.day

    def run(asset, config=None) -> None:
        assert run_asset(asset, local_replica, tmp_path, day, config).success

    run(plume_catalog)
    run(plume_products, ProductsConfig(figure_workers=0))
    run(scene_crops, CropConfig(figure_workers=0))
    figures.shutdown_pools()
    run(plume_products, ProductsConfig(figure_workers=1))
    run(scene_crops, CropConfig(figure_workers=1))
    assert figures._pools == {}
    (tmp_path / layout.products_day(day)).unlink()  # its plumes are drawn again
    run(plume_products, ProductsConfig(figure_workers=1))
    assert list(figures._pools) == [1]
    figures.shutdown_pools()
