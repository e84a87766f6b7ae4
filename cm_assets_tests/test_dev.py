"""``cm-assets dev`` (``make dev``): the replica and ``dagster dev`` start together and stop together,
whichever way the command is stopped, and never start behind a UI port another server holds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cm_assets_tests.e2e.stack import REPO_ROOT, free_port, wait_for
from cm_assets_tests.helpers.processes import processes_mentioning


def _start(tmp_path: Path, port: int, log: Path) -> subprocess.Popen:
    """``cm-assets dev`` on a tiny replica world under ``tmp_path``, in its own session."""
    (tmp_path / "home").mkdir()
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cm_assets.cli", "dev", "--scale", "tiny", "--ui-port", str(port),
             "--data-root", str(tmp_path / "data")],
            cwd=REPO_ROOT, env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _dagster_dev(port: int) -> dict[int, str]:
    """The ``dagster dev`` processes serving on ``port`` (its last argument, so a longer port with
    the same digits first does not match)."""
    return processes_mentioning(f"-p {port} ")


def _kill_leftovers(command: subprocess.Popen, port: int) -> None:
    """After a failure: the command's group and whatever it left (``dagster dev`` leads its own)."""
    for pid in [command.pid, *_dagster_dev(port)]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _ui_answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok
    except requests.RequestException:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_command_alone_stops_the_ui_and_the_replica(tmp_path, stop_signal):
    """``dagster dev`` leads its own session, so a signal sent to ``cm-assets dev`` alone (``kill``, a
    service manager, a closed terminal) reaches no other process: the command must stop them."""
    port, log = free_port(), tmp_path / "dev.log"
    command = _start(tmp_path, port, log)
    try:
        wait_for(lambda: command.poll() is not None or _ui_answers(port), 300, "the Dagster UI")
        assert command.poll() is None, log.read_text(errors="replace")
        replica = str(tmp_path / "data" / "replica")
        assert _dagster_dev(port) and processes_mentioning(replica)
        command.send_signal(stop_signal)
        assert command.wait(timeout=60) == 128 + stop_signal
        assert not _dagster_dev(port) and not processes_mentioning(replica)
        assert not _ui_answers(port)
        assert "SupersessionWarning" not in log.read_text(errors="replace")
    finally:
        _kill_leftovers(command, port)


def test_a_busy_ui_port_is_refused_before_anything_starts(tmp_path):
    """``dagster dev`` runs on without its UI when the port is taken, while the address printed
    would show whatever holds it (an older ``cm-assets dev``, say): the command refuses instead."""
    log = tmp_path / "dev.log"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        command = _start(tmp_path, port, log)
        try:
            assert command.wait(timeout=120) == 2
        finally:
            _kill_leftovers(command, port)
    output = log.read_text(errors="replace")
    assert f"port {port} is in use" in output and "--ui-port" in output
    assert not (tmp_path / "data").exists()  # no replica was started
