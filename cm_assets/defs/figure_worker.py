"""The start of a figure worker process: kept apart from ``figures`` so that a worker imports no
more than the pictures need."""

from __future__ import annotations

import os
import threading
import time

#: How often a worker checks that its run process is still there.
PARENT_POLL_S = 0.5


def exit_with(parent: int) -> None:
    """End this worker when ``parent`` (the run process) is gone: a killed run leaves no worker
    behind (a pool's workers otherwise wait on its queue forever)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()
