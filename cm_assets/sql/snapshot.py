"""Publishing the warehouse file by atomic swap, so readers are never blocked.

Readers open the published file read-only. The single writer never opens it: it updates a hidden
draft next to it, closes it and renames it over the published name. A reader that opened the old
file keeps reading that consistent snapshot; the next one opens the new file.

Two files take turns (A/B): the file a publication replaces is kept as the *standby*, and the
next writer updates the standby (one refresh behind: the writer's incremental sync catches it
up) instead of copying the published file, unless a reader still has it open. Copying costs
more than the copy itself: the writer's checkpoint then has to flush the whole new file to
disk, where updating the standby flushes only the blocks that changed. DuckDB readers hold a
shared POSIX lock on the file they read; the writer probes for it with an open-file-description
lock, which also conflicts with readers of its own process. A POSIX lock is dropped when its
process closes *any* descriptor of the file, so readers of one file in one process share one
open file (``db.connect``), and a reader that must stay protected does not share a process with
a writer (the writer's own reads of the published file and its probe open and close it; the
pipeline's writer runs in a Dagster run or step process, its readers in others).

A killed writer leaves only a draft, removed by the next writer. Writers are serialized by an
exclusive lock on ``<file>.lock`` (released by the OS when a writer dies).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(TimeoutError):
    """Another writer held the warehouse lock for longer than the timeout."""


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@contextmanager
def _writer_lock(path: Path, timeout_s: float, log: Callable[[str], None] | None) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as handle:
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(f"another writer holds {lock}") from None
                if log:
                    log(f"warehouse busy (another writer), retrying in {delay:.1f}s")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_drafts(path: Path) -> None:
    """Drafts (and their WAL) and retired files of writers that died: only called while holding
    the writer lock."""
    for pattern in (f".{path.name}.*.draft*", f".{path.name}.*.retired"):
        for leftover in path.parent.glob(pattern):
            leftover.unlink(missing_ok=True)


def standby_path(path: Path) -> Path:
    """The previous publication, kept for the next writer to update."""
    return path.with_name(f".{path.name}.standby")


def _in_use(path: Path) -> bool:
    """Whether some process (this one included) holds a DuckDB lock on ``path``."""
    # struct flock: l_type, l_whence, l_start, l_len (0: the whole file), l_pid (0 for OFD locks)
    probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.fcntl(descriptor, fcntl.F_OFD_SETLK, probe)
        return False
    except OSError:
        return True
    finally:
        os.close(descriptor)


def _start_draft(path: Path, draft: Path) -> None:
    """Make ``draft`` the standby when no reader holds it, else a copy of the published file (or
    nothing: a new database)."""
    standby = standby_path(path)
    if standby.exists() and not _in_use(standby):
        os.replace(standby, draft)
    elif path.exists():
        standby.unlink(missing_ok=True)
        shutil.copyfile(path, draft)


def restart_from_published(path: str | os.PathLike, draft: Path) -> bool:
    """Replace ``draft`` by a copy of the published file (for a standby of an older layout); False
    when nothing is published."""
    draft.unlink(missing_ok=True)
    _wal(draft).unlink(missing_ok=True)
    if not Path(path).exists():
        return False
    shutil.copyfile(path, draft)
    return True


def _publish(path: Path, draft: Path) -> None:
    """Rename ``draft`` over ``path``; the file it replaces becomes the standby."""
    retired = path.with_name(f".{path.name}.{uuid.uuid4().hex}.retired")
    if path.exists():
        os.link(path, retired)
    os.replace(draft, path)
    if retired.exists():
        os.replace(retired, standby_path(path))
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def next_snapshot(path: str | os.PathLike, timeout_s: float = 600.0,
                  log: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Yield a private draft of the warehouse at ``path`` (the standby, a copy of the published
    file, or a new file); when the block ends without error and the draft is closed, publish it
    atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path, timeout_s, log):
        _remove_drafts(path)
        draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.draft")
        try:
            _start_draft(path, draft)
            yield draft
            if _wal(draft).exists():
                raise RuntimeError(f"draft {draft} still has a WAL: close its connection before publishing")
            _wal(path).unlink(missing_ok=True)  # a WAL of the published name belongs to no file we write
            _publish(path, draft)
        finally:
            draft.unlink(missing_ok=True)
            _wal(draft).unlink(missing_ok=True)
