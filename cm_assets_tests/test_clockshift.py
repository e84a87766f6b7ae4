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


GRPC_ROUND_TRIP = """
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(2))
health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
print(health_pb2.HealthCheckResponse.ServingStatus.Name(
    stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status))
server.stop(0)
"""


def test_a_grpc_server_answers_under_the_shifted_clock() -> None:
    """Dagster's code servers are gRPC servers: without the shim's gRPC clock they never start."""
    env = {**os.environ, "PYTHONPATH": str(SHIM), "CM_ASSETS_TEST_CLOCK_SHIFT_DAYS": "60"}
    done = subprocess.run([sys.executable, "-c", GRPC_ROUND_TRIP], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "SERVING"
