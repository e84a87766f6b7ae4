"""Run the suite as if on a later date: with this directory on ``PYTHONPATH`` and
``CM_ASSETS_TEST_CLOCK_SHIFT_DAYS=N``, every Python process that starts (pytest, the replica,
``dagster dev`` and all its children) sees the wall clock N days ahead — ``time.time``,
``datetime.now``, ``date.today`` — while monotonic clocks run untouched. ``make test-shifted``
uses it; nothing else does.

gRPC (Dagster's code servers) mixes Python's ``time.time()`` with its C core's own real clock to
compute poll deadlines (``Server.start`` waits until ``time.time()``), so under a shifted wall clock
a server never starts answering. gRPC's modules therefore keep the real clock; only deadlines of
gRPC calls use it, never a date the code reasons about.
"""

import os

_DAYS = os.environ.get("CM_ASSETS_TEST_CLOCK_SHIFT_DAYS")
if _DAYS:
    import time
    import types
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_DAYS)), tick=True).start()
    try:
        import grpc._channel
        import grpc._common
        import grpc._server
        from grpc._cython import cygrpc
    except ImportError:
        pass
    else:
        _real_time = types.SimpleNamespace(
            **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
        )
        _real_time.time = time_machine.escape_hatch.time.time
        for _module in (grpc._channel, grpc._common, grpc._server, cygrpc):
            _module.time = _real_time
