"""One request budget shared by separate client processes, against a rate-limited replica: with it
their combined rate stays under the API's ceiling and nothing is throttled; without it they
overrun the ceiling and are throttled. Real processes, one account (one token), one replica."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasterio.windows import Window

from cm_assets.carbonmapper import CarbonMapperClient
from cm_assets.carbonmapper import files, gdal_requests
from cm_assets.carbonmapper.files import GdalLedger
from cm_assets.replica.process import ReplicaProcess

from cm_assets_tests.deploy.services import RedisServer, require_binary
from cm_assets_tests.helpers.client import STAC_ERA, admin, plume_with_scene
from cm_assets_tests.helpers.replica import replica_process

LIMIT, WINDOW = 30, 3.0  # the replica's ceiling: 30 requests per 3 s per token
PROCESSES, REQUESTS = 3, 20  # 60 requests: twice the ceiling


@pytest.fixture(scope="module")
def throttled(tmp_path_factory) -> Iterator[ReplicaProcess]:
    """One rate-limited replica for the module; each test logs in anew, and the replica counts
    each token's requests apart, so every test starts with an empty window."""
    with replica_process(tmp_path_factory.mktemp("replica-throttled"), rate_limit=LIMIT,
                         rate_window=WINDOW) as replica:
        yield replica


def _token(replica: ReplicaProcess) -> str:
    with CarbonMapperClient(replica.api_url, email=replica.email, password=replica.password) as client:
        return client.transport.authorization_for(client.api_url).removeprefix("Bearer ")


def _run_processes(replica: ReplicaProcess, budget: list[str]) -> tuple[list[float], list[int]]:
    """Start the client processes, let them all import and connect, then start them together."""
    env = {**os.environ, "CARBONMAPPER_TOKEN": _token(replica)}
    command = [sys.executable, "-m", "cm_assets_tests.helpers.budget_worker", replica.api_url,
               str(REQUESTS), *budget]
    procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                              cwd=Path(__file__).resolve().parents[2]) for _ in range(PROCESSES)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [json.loads(proc.communicate(timeout=120)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sent = sorted(t for r in results for t in r["sent"])
    statuses = [s for r in results for s in r["statuses"]]
    assert len(statuses) == PROCESSES * REQUESTS
    return sent, statuses


def _busiest_window(sent: list[float], window: float) -> int:
    """The most requests sent in any ``window`` seconds."""
    return max(sum(1 for u in sent if t - window < u <= t) for t in sent)


def _check_shared(sent: list[float], statuses: list[int]) -> None:
    throttled = statuses.count(429)
    span = sent[-1] - sent[0]
    print(f"shared budget: {len(sent)} requests in {span:.1f} s, busiest {WINDOW:g} s: "
          f"{_busiest_window(sent, WINDOW)}, throttled {throttled}")
    assert _busiest_window(sent, WINDOW) <= LIMIT
    assert throttled <= 1, f"{throttled} requests throttled under the shared budget"
    assert set(statuses) <= {200, 429}
    # the processes did wait for each other: twice the ceiling takes more than one window
    assert span > WINDOW


def test_processes_sharing_a_budget_stay_under_the_ceiling(throttled, tmp_path):
    sent, statuses = _run_processes(throttled, [str(LIMIT), str(WINDOW), str(tmp_path / "budget.sqlite")])
    _check_shared(sent, statuses)


def test_processes_without_a_shared_budget_overrun_the_ceiling(throttled):
    sent, statuses = _run_processes(throttled, [])
    print(f"alone: busiest {WINDOW:g} s: {_busiest_window(sent, WINDOW)}, throttled {statuses.count(429)}")
    assert _busiest_window(sent, WINDOW) > LIMIT
    assert statuses.count(429) > 0  # each process backs off after its first 429s, alone


def test_processes_sharing_a_redis_budget_stay_under_the_ceiling(throttled):
    require_binary("redis-server", shutil.which("redis-server") is not None)
    with RedisServer() as redis:
        sent, statuses = _run_processes(throttled, [str(LIMIT), str(WINDOW), redis.url])
    _check_shared(sent, statuses)


class RecordingBudget:
    def __init__(self) -> None:
        self.taken = 0

    def acquire(self, n: int = 1) -> None:
        self.taken += n


def _tif_requests(replica) -> int:
    return sum(n for path, n in admin(replica, "GET", "/stats/paths")["paths"].items() if path.endswith(".tif"))


def _read_through_gdal(client: CarbonMapperClient, band: str, url: str) -> None:
    """A window read by GDAL over HTTP (how a file whose header is not a COG's is read)."""
    with client.assets.open_raster(band, url) as dataset:
        dataset.read(window=Window(0, 0, 16, 16))


def test_every_range_read_of_a_crop_is_drawn_from_the_budget(throttled):
    """A crop's range reads go through the transport: one slot each, so a shared budget counts them all."""
    with CarbonMapperClient(throttled.api_url, email=throttled.email, password=throttled.password) as client:
        plume, scene = plume_with_scene(client, STAC_ERA)
        outline = client.plume_products(plume).outline
        budget = client.transport.limiter.budget = RecordingBudget()
        admin(throttled, "POST", "/stats/reset")
        scene.crop("cmf", outline, pad_px=16)
    sent = _tif_requests(throttled)
    assert sent >= 2 and budget.taken == sent


def test_every_request_gdal_sends_is_drawn_from_the_budget(throttled, monkeypatch):
    """Where GDAL reads over HTTP, the slots drawn for its requests equal the requests it sent (its
    own count settles the estimate, here set too low), so a shared budget counts them all."""
    monkeypatch.setattr(GdalLedger, "OPEN_ESTIMATE", 1)
    monkeypatch.setattr(files, "LEDGER", GdalLedger())  # what earlier tests of this process read is settled
    with CarbonMapperClient(throttled.api_url, email=throttled.email, password=throttled.password) as client:
        _, scene = plume_with_scene(client, STAC_ERA)
        budget = client.transport.limiter.budget = RecordingBudget()
        admin(throttled, "POST", "/stats/reset")
        _read_through_gdal(client, "cmf", scene.urls["cmf"])
    sent = _tif_requests(throttled)
    assert sent >= 2 and budget.taken == sent


def test_gdals_count_stays_whole_while_its_per_file_report_is_reset(throttled):
    """GDAL's report grows with every file it reads; each count resets it, so reading it stays
    cheap in a long run, while the running count keeps every request of every read."""
    with CarbonMapperClient(throttled.api_url, email=throttled.email, password=throttled.password) as client:
        _, scene = plume_with_scene(client, STAC_ERA)
        admin(throttled, "POST", "/stats/reset")
        before = gdal_requests.made()
        for band in ("cmf", "uncertainty", "artifact-mask"):
            _read_through_gdal(client, band, scene.urls[band])
            assert "/vsicurl/" not in json.dumps(gdal_requests._report())  # the read's settle read and reset the per-file entries
        counted = gdal_requests.made() - before
    sent = _tif_requests(throttled)
    assert sent >= 2 and counted == sent
    assert gdal_requests.made() == before + counted  # nothing new: the running count stands
