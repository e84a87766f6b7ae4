"""Reader processes for the readers-never-blocked tests (they import only the warehouse library, so
they start fast)."""

from __future__ import annotations

from cm_assets.sql.db import connect


def read_loop(database: str, stop, reads, out) -> None:
    """Until ``stop``: a fresh read-only connection reads two counts in one snapshot; then report
    every pair seen and every error (lock errors included)."""
    seen, errors = [], []
    while not stop.is_set():
        try:
            con = connect(database, read_only=True)
            try:
                seen.append(con.execute("SELECT (SELECT count(*) FROM plumes), "
                                        "(SELECT count(*) FROM quarantine)").fetchone())
            finally:
                con.close()
        except Exception as error:
            errors.append(repr(error))
        with reads.get_lock():
            reads.value += 1
    out.put((seen, errors))


def hold(database: str, ready, release, out) -> None:
    """A long reader: one read-only connection counts the plumes, holds the file until
    ``release``, then counts again (both counts go to ``out``)."""
    con = connect(database, read_only=True)
    first = con.execute("SELECT count(*) FROM plumes").fetchone()[0]
    ready.set()
    release.wait(timeout=120)
    out.put((first, con.execute("SELECT count(*) FROM plumes").fetchone()[0]))
    con.close()


def lake_read_loop(target: str, stop, reads, out) -> None:
    """Until ``stop``: ONE read-only connection to the shared warehouse ``target`` reads the rows of
    ``plumes`` and ``plumes_enriched`` in one query (one snapshot), again and again; then report
    every pair seen and every error."""
    from cm_assets.sql.lake import Lake, connect_lake

    seen, errors = [], []
    con = connect_lake(Lake.parse(target), read_only=True, spatial=False)
    try:
        while not stop.is_set():
            try:
                seen.append(con.execute("SELECT (SELECT count(*) FROM plumes), "
                                        "(SELECT count(*) FROM plumes_enriched)").fetchone())
            except Exception as error:
                errors.append(repr(error))
            with reads.get_lock():
                reads.value += 1
    finally:
        con.close()
    out.put((seen, errors))
