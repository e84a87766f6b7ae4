"""ReplicaProcess: start-up failures surface stderr; stop() ends the process group."""

from __future__ import annotations

import os

import pytest

from cm_assets.replica.process import ReplicaProcess, ReplicaStartError


def test_start_failure_surfaces_stderr(tmp_path):
    process = ReplicaProcess(tmp_path, scale="nope", ready_timeout=30)
    with pytest.raises(ReplicaStartError, match="argument --scale: tiny, demo, full or a positive integer"):
        process.start()


def test_stop_ends_the_group(replica_factory):
    process = replica_factory()
    group = process._proc.pid  # noqa: SLF001 - the group id is the child's pid
    process.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
