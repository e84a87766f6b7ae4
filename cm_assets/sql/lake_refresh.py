"""The shared warehouse's writer: one refresh is one DuckLake transaction under a PostgreSQL advisory
lock (one writer at a time across hosts). Connections and targets: :mod:`cm_assets.sql.lake`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from cm_assets.sql.ingest import has_current_layout
from cm_assets.sql.lake import WRITER_LOCK_KEY, Lake, connect_lake
from cm_assets.sql.refresh import LAYOUT, Refresh, ingest_settings, update
from cm_assets.sql.snapshot import WarehouseBusy
from cm_assets.sql.views import row_counts
from cm_assets.storage.store import Storage


@contextmanager
def writer_lock(lake: Lake, timeout_s: float = 600.0,
                log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lake's writer lock (a PostgreSQL session advisory lock, released by the server when
    the holder dies) for the block; a lake whose catalog is not PostgreSQL has a single host."""
    if not lake.on_postgres:
        yield
        return
    import psycopg2

    session = psycopg2.connect(lake.catalog.removeprefix("postgres:"))  # libpq's errors hold no password
    try:
        session.autocommit = True
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        with session.cursor() as cur:
            while True:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK_KEY,))
                if cur.fetchone()[0]:
                    break
                if time.monotonic() > deadline:
                    raise WarehouseBusy("another writer holds the shared warehouse")
                if log:
                    log(f"shared warehouse busy (another writer), retrying in {delay:.1f}s")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        yield
    finally:
        session.close()  # ends the session, and with it the advisory lock


def refresh_lake(lake: Lake, storage: Storage, log: Callable[[str], None] | None = None) -> Refresh:
    """Refresh the shared warehouse from the tables under ``storage`` in one DuckLake transaction
    (created, or rebuilt when its layout is another, from every file)."""
    started = time.perf_counter()
    with writer_lock(lake, log=log):
        con = connect_lake(lake, read_only=False)
        try:
            ingest_settings(con)
            if not storage.is_local and urlsplit(storage.root).scheme != "s3":
                con.register_filesystem(storage.fs)  # s3:// is read by httpfs with the lake's secret
            rebuilt = not has_current_layout(con, LAYOUT)
            changes = update(con, storage, rebuilt, indexes=False)
            counts = row_counts(con)
        finally:
            con.close()
    return Refresh(counts, changes, rebuilt, time.perf_counter() - started)
