"""One client process of the shared-budget tests: sends requests to an API from a few threads and
prints, as JSON, when each was allowed to go and the statuses it got back.

    python -m cm_assets_tests.helpers.budget_worker API_URL REQUESTS [LIMIT WINDOW STORE]

The token comes from ``CARBONMAPPER_TOKEN``; with LIMIT WINDOW STORE the client draws from that
shared budget. The process prints ``ready`` once imported and connected, and starts sending when
a line arrives on its standard input, so that several processes start together.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from cm_assets.carbonmapper import BudgetSpec, CarbonMapperClient

THREADS = 4


def main(argv: list[str]) -> None:
    api_url, count = argv[0], int(argv[1])
    budget = BudgetSpec(int(argv[2]), float(argv[3]), argv[4]) if len(argv) > 2 else None
    sent: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    with CarbonMapperClient(api_url, token=os.environ["CARBONMAPPER_TOKEN"], budget=budget) as client:
        limiter = client.transport.limiter
        original = limiter.acquire

        def counted_acquire(n: int = 1) -> float:
            waited = original(n)
            with lock:
                sent.extend([time.time()] * n)
            return waited

        limiter.acquire = counted_acquire  # type: ignore[method-assign]
        print("ready", flush=True)
        sys.stdin.readline()

        def one(_: int) -> None:
            # 429s come back instead of being retried, so each one is seen and counted
            response = client.transport.request("GET", "/stac/conformance", passthrough=(429,))
            with lock:
                statuses.append(response.status_code)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(one, range(count)))
    print(json.dumps({"sent": sent, "statuses": statuses}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
