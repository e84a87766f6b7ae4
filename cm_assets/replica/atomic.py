"""The replica's atomic writes (its caches of generated assets and of the world): ``write`` fills a
hidden temporary sibling, which is then renamed onto the target. The replica keeps its own helper
because it imports nothing of the client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write`` on a temporary sibling of ``path``, then rename it into place (parents created;
    the temporary file is removed whatever happens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
