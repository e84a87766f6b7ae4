"""Publishing the warehouse file by atomic swap, so readers are never blocked.

Readers open the published file read-only. The single writer never opens it: it copies it to a
hidden draft next to it, updates the draft, closes it and renames it over the published name.
A reader that opened the old file keeps reading that consistent snapshot; the next one opens the
new file. A killed writer leaves only a draft, removed by the next writer. Writers are serialized
by an exclusive lock on ``<file>.lock`` (released by the OS when a writer dies).
"""

from __future__ import annotations

import fcntl
import os
import shutil
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
    """Drafts (and their WAL) of writers that died: only called while holding the writer lock."""
    for leftover in path.parent.glob(f".{path.name}.*.draft*"):
        leftover.unlink(missing_ok=True)


@contextmanager
def next_snapshot(path: str | os.PathLike, timeout_s: float = 600.0,
                  log: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Yield a private draft of the warehouse at ``path`` (a copy of the published file, or a new
    file); when the block ends without error and the draft is closed, publish it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path, timeout_s, log):
        _remove_drafts(path)
        draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.draft")
        try:
            if path.exists():
                shutil.copyfile(path, draft)
            yield draft
            if _wal(draft).exists():
                raise RuntimeError(f"draft {draft} still has a WAL: close its connection before publishing")
            _wal(path).unlink(missing_ok=True)  # a WAL of the published name belongs to no file we write
            os.replace(draft, path)
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        finally:
            draft.unlink(missing_ok=True)
            _wal(draft).unlink(missing_ok=True)
