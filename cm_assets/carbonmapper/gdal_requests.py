"""How many HTTP requests GDAL has made in this process, from GDAL's own network statistics.

GDAL's range reads cannot be seen one by one from Python; GDAL counts them itself when
``CPL_VSIL_NETWORK_STATS_ENABLED`` is on (GDAL ≥ 3.2, read once, at the first remote read of the
process, so it is switched on when this module is imported). The counters are reached through
the GDAL library that rasterio loaded; where that fails, :func:`made` returns None.

GDAL keeps its statistics per file for the life of the process, so its report grows with every
file read: parsing it on every call made a long run quadratic (245 KB and ~4 ms a parse after 30
days of crops; a few MB a parse over a year, by extrapolation). Each call therefore adds the
report's totals to a running count and resets GDAL's statistics right after reading them. GDAL
has no read-and-reset in one call, and other threads' reads go on meanwhile: a request GDAL logs
in the microseconds between the two calls goes uncounted.
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import threading

import rasterio


def _library() -> ctypes.CDLL | None:
    """GDAL as loaded by rasterio."""
    here = os.path.dirname(rasterio.__file__)
    candidates = glob.glob(os.path.join(here, os.pardir, "rasterio.libs", "libgdal*.so*"))
    candidates += ["libgdal.so"]
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            lib.VSINetworkStatsGetAsSerializedJSON.restype = ctypes.c_void_p
            lib.VSINetworkStatsGetAsSerializedJSON.argtypes = [ctypes.c_void_p]
            lib.VSINetworkStatsReset.restype = None
            lib.VSINetworkStatsReset.argtypes = []
            lib.VSIFree.argtypes = [ctypes.c_void_p]
            lib.CPLSetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        except (OSError, AttributeError):
            continue
        lib.CPLSetConfigOption(b"CPL_VSIL_NETWORK_STATS_ENABLED", b"YES")
        return lib
    return None


_LIB = _library()
_LOCK = threading.Lock()
_counted = 0  # requests of the reports already read and reset


def _report(reset: bool = False) -> dict | None:
    """GDAL's network statistics as they stand (None: unavailable); with ``reset``, cleared the
    moment they are read."""
    pointer = _LIB.VSINetworkStatsGetAsSerializedJSON(None)
    if not pointer:
        return None
    if reset:
        _LIB.VSINetworkStatsReset()
    try:
        return json.loads(ctypes.string_at(pointer).decode())
    finally:
        _LIB.VSIFree(pointer)


def made() -> int | None:
    """HTTP requests GDAL has sent from this process so far (None: statistics unavailable)."""
    global _counted
    if _LIB is None:
        return None
    with _LOCK:
        stats = _report(reset=True)
        if stats is None:
            return None
        _counted += sum(int(m.get("count", 0)) for m in stats.get("methods", {}).values())
        return _counted
