"""ReplicaProcess: start-up failures surface stderr; stop() ends the group; no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from cm_assets.replica.process import ReplicaProcess, ReplicaStartError


def test_start_failure_surfaces_stderr(tmp_path):
    process = ReplicaProcess(tmp_path, scale="nope", ready_timeout=30)
    with pytest.raises(ReplicaStartError, match="argument --scale: tiny, demo, full or a positive integer"):
        process.start()


def test_stop_ends_the_group(replica_factory):
    process = replica_factory()
    group = process.pid  # the group id is the child's pid
    process.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def test_replica_exits_when_its_parent_dies_without_stopping_it(tmp_path):
    """A killed test runner cannot run finalizers: the replica must notice and exit by itself."""
    parent = subprocess.run(
        [sys.executable, "-c",
         "import os, sys\n"
         "from cm_assets.replica.process import ReplicaProcess\n"
         f"r = ReplicaProcess({str(tmp_path)!r}).start()\n"
         "print(r.pid, flush=True)\n"
         "os._exit(0)\n"],
        capture_output=True, text=True, timeout=120, check=True)
    child = int(parent.stdout.split()[-1])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(child, signal.SIGKILL)
    pytest.fail("the replica outlived its parent")
