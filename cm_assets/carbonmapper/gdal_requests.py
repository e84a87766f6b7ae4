"""How many HTTP requests GDAL has made in this process, from GDAL's own network statistics.

GDAL's range reads cannot be seen one by one from Python; GDAL counts them itself when
``CPL_VSIL_NETWORK_STATS_ENABLED`` is on (GDAL ≥ 3.2, read once, at the first remote read of the
process, so it is switched on when this module is imported). The counters are reached through
the GDAL library that rasterio loaded; where that fails, :func:`made` returns None.
"""

from __future__ import annotations

import ctypes
import glob
import json
import os

import rasterio


def _library() -> ctypes.CDLL | None:
    here = os.path.dirname(rasterio.__file__)
    candidates = glob.glob(os.path.join(here, os.pardir, "rasterio.libs", "libgdal*.so*"))
    candidates += ["libgdal.so"]
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            lib.VSINetworkStatsGetAsSerializedJSON.restype = ctypes.c_void_p
            lib.VSINetworkStatsGetAsSerializedJSON.argtypes = [ctypes.c_void_p]
            lib.VSIFree.argtypes = [ctypes.c_void_p]
            lib.CPLSetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        except (OSError, AttributeError):
            continue
        lib.CPLSetConfigOption(b"CPL_VSIL_NETWORK_STATS_ENABLED", b"YES")
        return lib
    return None


_LIB = _library()


def made() -> int | None:
    """HTTP requests GDAL has sent from this process so far (None: statistics unavailable)."""
    if _LIB is None:
        return None
    pointer = _LIB.VSINetworkStatsGetAsSerializedJSON(None)
    if not pointer:
        return None
    try:
        stats = json.loads(ctypes.string_at(pointer).decode())
    finally:
        _LIB.VSIFree(pointer)
    return sum(int(m.get("count", 0)) for m in stats.get("methods", {}).values())
