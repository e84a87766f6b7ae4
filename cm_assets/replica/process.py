"""``ReplicaProcess``: run ``cm-assets replica serve`` as a subprocess (tests, demo, bench).

The child runs in its own process group on free ports; ``start()`` waits for its one JSON ready
line and surfaces its stderr when it dies or times out; ``stop()`` sends SIGTERM to the group,
waits a grace period, then SIGKILLs the group.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from cm_assets.processes import stop_group
from cm_assets.replica.auth import DEMO_EMAIL, DEMO_PASSWORD


class ReplicaStartError(RuntimeError):
    """The replica exited or did not become ready in time."""


class ReplicaProcess:
    """A replica subprocess; use as a context manager or call start()/stop()."""

    def __init__(self, data_dir: Path | str, seed: int = 7, scale: str = "tiny",
                 end: date | str | None = None, extra_args: Sequence[str] = (),
                 host: str = "127.0.0.1", ready_timeout: float = 60.0,
                 log_path: Path | str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.scale = scale
        self.end = str(end) if end is not None else None
        self.extra_args = list(extra_args)
        self.host = host
        self.ready_timeout = ready_timeout
        self.log_path = Path(log_path) if log_path else None
        self.email = DEMO_EMAIL
        self.password = DEMO_PASSWORD
        self.api_url = self.cdn_url = self.admin_url = self.stac_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "cm_assets.cli", "replica", "serve", "--host", self.host,
                "--port", "0", "--cdn-port", "0", "--data-dir", str(self.data_dir),
                "--seed", str(self.seed), "--scale", self.scale,
                "--exit-with-parent", str(os.getpid())]
        if self.end:
            args += ["--end", self.end]
        return args + self.extra_args

    def start(self) -> ReplicaProcess:
        """Launch and block until the ready line arrives."""
        if self._proc is not None:
            raise RuntimeError("already started")
        self._stderr = (self.log_path.open("w+b") if self.log_path
                        else tempfile.TemporaryFile())
        self._proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                      stderr=self._stderr, start_new_session=True)
        try:
            ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.api_url = ready["api_url"]
        self.cdn_url = ready["cdn_url"]
        self.admin_url = ready["admin_url"]
        self.stac_url = ready.get("stac_url", f"{self.api_url}/stac/")
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self

    @property
    def pid(self) -> int:
        """Process id of the running replica (a benchmark reads its CPU time)."""
        if self._proc is None:
            raise RuntimeError("not started")
        return self._proc.pid

    def _wait_ready(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        selector = selectors.DefaultSelector()
        selector.register(self._proc.stdout, selectors.EVENT_READ)
        buffer = b""
        with selector:
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ReplicaStartError(f"replica not ready after {self.ready_timeout}s\n"
                                            f"{self.stderr_text()}")
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                if not chunk:
                    self._proc.wait(timeout=5)
                    raise ReplicaStartError(f"replica exited with {self._proc.returncode}\n"
                                            f"{self.stderr_text()}")
                buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplicaStartError(f"unexpected ready line {line!r}\n"
                                    f"{self.stderr_text()}") from exc

    def _drain_stdout(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        try:
            while proc.stdout.read(65536):
                pass
        except (OSError, ValueError):  # closed by stop()
            pass

    def stderr_text(self, limit: int = 20000) -> str:
        """The tail of the child's stderr (its access log and tracebacks)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        with open(self._stderr.fileno(), "rb", closefd=False) as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL it after ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        stop_group(proc, grace)
        if proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
        self._proc = None

    def __enter__(self) -> ReplicaProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
