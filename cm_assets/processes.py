"""Stopping child processes for sure (servers here may ignore SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM ``process``'s group (it must lead its own session), SIGKILL it after ``grace``
    seconds, and SIGKILL whatever else is left in the group."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def exit_on_termination() -> None:
    """Make SIGTERM and SIGHUP (``kill``, a service manager, a closed terminal) raise SystemExit in
    the main thread, as Ctrl-C raises KeyboardInterrupt, so ``finally`` blocks that stop child
    process groups run; by default either signal ends Python without running them."""
    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)
