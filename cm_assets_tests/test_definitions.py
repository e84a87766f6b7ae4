"""The Dagster entry point: what loading it prints, and the jobs' partitioning."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cm_assets.definitions import build_definitions
from cm_assets.defs.partitions import observation_days

pytestmark = pytest.mark.fast


def test_loading_the_definitions_prints_no_warning():
    """Every process that loads the definitions (each run, step worker, CLI call, code server) would
    print what this does; ``-W default`` also shows the deprecations Python hides by default."""
    loaded = subprocess.run([sys.executable, "-W", "default", "-c", "import cm_assets.definitions"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stderr == ""


def test_day_jobs_take_their_partitioning_from_the_day_assets():
    repository = build_definitions().get_repository_def()
    for name in ("refresh_days", "refresh_all"):
        assert repository.get_job(name).partitions_def == observation_days, name
    assert repository.get_job("refresh_warehouse").partitions_def is None
