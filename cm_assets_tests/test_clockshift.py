"""The date-shift harness behind ``make test-shifted`` really moves the clock child processes see."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

SHIM = Path(__file__).resolve().parent / "clockshift"
PRINT_NOW = "import datetime, time; print(datetime.date.today(), round(time.time()))"


def _child_clock(env: dict[str, str]) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", PRINT_NOW], env={**os.environ, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], float(out[1])


def test_shifted_processes_see_a_later_wall_clock() -> None:
    env = {"PYTHONPATH": str(SHIM), "CM_ASSETS_TEST_CLOCK_SHIFT_DAYS": "60"}
    before = datetime.now().timestamp()
    day, seconds = _child_clock(env)
    assert 60 * 86400 - 5 <= seconds - before <= 60 * 86400 + 60
    assert day == date.fromtimestamp(seconds).isoformat()  # datetime and time agree
    _, unshifted = _child_clock({"PYTHONPATH": str(SHIM)})  # the shim is inert without the variable
    assert abs(unshifted - datetime.now().timestamp()) < 60
