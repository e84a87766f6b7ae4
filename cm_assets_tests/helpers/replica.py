"""The suite's replica: its pinned world and clock, replica processes and resources bound to them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cm_assets.defs.resources import CarbonMapperResource
from cm_assets.replica.process import ReplicaProcess

REPLICA_END = "2026-11-24"
REPLICA_CLOCK_START = "2026-11-25T00:00:00Z"
REPLICA_SEED = 7


CREDENTIAL_ENV = {"email_env": "CM_TEST_CARBONMAPPER_EMAIL", "password_env": "CM_TEST_CARBONMAPPER_PASSWORD"}


def replica_resource(replica: Any) -> CarbonMapperResource:
    """A resource for ``replica`` whose credentials come from the environment, as in production
    (the resource refuses literal secrets); every replica has the same demo account."""
    os.environ[CREDENTIAL_ENV["email_env"]] = replica.email
    os.environ[CREDENTIAL_ENV["password_env"]] = replica.password
    return CarbonMapperResource(api_url=replica.api_url, **CREDENTIAL_ENV)


def _option_args(options: dict[str, Any]) -> list[str]:
    """``rate_limit=5`` → ``["--rate-limit", "5"]``."""
    args: list[str] = []
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def replica_process(data_dir: Path, **options: Any) -> ReplicaProcess:
    """A tiny replica, not started yet (``with replica_process(...) as p`` starts and stops it for
    sure); ``options`` become ``replica serve`` flags."""
    options.setdefault("clock_start", REPLICA_CLOCK_START)
    seed = int(options.pop("seed", REPLICA_SEED))
    scale = str(options.pop("scale", "tiny"))
    end = str(options.pop("end", REPLICA_END))
    return ReplicaProcess(data_dir, seed=seed, scale=scale, end=end,
                          extra_args=_option_args(options))
