"""Run the suite as if on a later date: with this directory on ``PYTHONPATH`` and
``CM_ASSETS_TEST_CLOCK_SHIFT_DAYS=N``, every Python process that starts (pytest, the replica,
``dagster dev`` and all its children) sees the wall clock N days ahead — ``time.time``,
``datetime.now``, ``date.today`` — while monotonic clocks, which timeouts and gRPC use, run
untouched. ``make test-shifted`` uses it; nothing else does.
"""

import os

_DAYS = os.environ.get("CM_ASSETS_TEST_CLOCK_SHIFT_DAYS")
if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_DAYS)), tick=True).start()
