"""Atomic file writes: write a hidden temporary sibling, then rename it onto the target, so a killed
write never leaves a partial file under the published name (the client's downloads and COGs, the
data-root storage and the reports all write through here)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_name(name: str) -> str:
    """The hidden temporary sibling name of file ``name``: ``.<name>.<random>.tmp``."""
    return f".{name}.{uuid.uuid4().hex}.tmp"


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (parents created); when the block ends without error
    the temporary file replaces ``path``, otherwise it is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(temporary_name(target.name))
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
