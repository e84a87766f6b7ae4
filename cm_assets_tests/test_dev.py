"""``cm-assets dev`` (``make dev``): the replica and ``dagster dev`` start together and stop together,
whichever way the command is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from cm_assets_tests.e2e.stack import REPO_ROOT, free_port, wait_for
from cm_assets_tests.helpers.processes import processes_mentioning


def _ui_answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok
    except requests.RequestException:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_command_alone_stops_the_ui_and_the_replica(tmp_path, stop_signal):
    """``dagster dev`` leads its own session, so a signal sent to ``cm-assets dev`` alone (``kill``, a
    service manager, a closed terminal) reaches no other process: the command must stop them."""
    port, data_root, log = free_port(), tmp_path / "data", tmp_path / "dev.log"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    with open(log, "wb") as out:
        command = subprocess.Popen(
            [sys.executable, "-m", "cm_assets.cli", "dev", "--scale", "tiny", "--ui-port", str(port),
             "--data-root", str(data_root)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        wait_for(lambda: command.poll() is not None or _ui_answers(port), 300, "the Dagster UI")
        assert command.poll() is None, log.read_text(errors="replace")
        assert processes_mentioning(f"-p {port}") and processes_mentioning(str(data_root / "replica"))
        command.send_signal(stop_signal)
        assert command.wait(timeout=60) == 128 + stop_signal
        assert not processes_mentioning(f"-p {port}")
        assert not processes_mentioning(str(data_root / "replica"))
        assert not _ui_answers(port)
        assert "SupersessionWarning" not in log.read_text(errors="replace")
    finally:  # on failure, whatever the command left running (``dagster dev`` leads its own group)
        for pid in [command.pid, *processes_mentioning(f"-p {port}")]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
