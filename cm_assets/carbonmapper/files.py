"""Files of the API (its "assets": products, scene bands) through the transport: whole-file fetches,
existence probes, remote raster opens."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import RasterioIOError
from rasterio.io import DatasetReader
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from cm_assets.carbonmapper import gdal_requests
from cm_assets.carbonmapper.atomic import write_atomic
from cm_assets.carbonmapper.cog_ranges import RemoteCog
from cm_assets.carbonmapper.errors import ApiError, ProductNotAvailable
from cm_assets.carbonmapper.geo import http_env, vsicurl
from cm_assets.carbonmapper.ratelimit import RateLimiter
from cm_assets.carbonmapper.transport import Transport

log = logging.getLogger("cm_assets.carbonmapper")

#: Statuses meaning "this asset is not there" (403: collection exists, scene absent; spec §4.13).
ABSENT = (403, 404)


class GdalLedger:
    """Slots drawn for GDAL's HTTP requests, kept equal to the requests GDAL made.

    Before an open, :data:`OPEN_ESTIMATE` slots are drawn (a HEAD, the header read and the range
    read of one window: what one crop costs); after it, GDAL's own count (:mod:`.gdal_requests`,
    process-wide like GDAL's counters) settles the difference: more requests are drawn late; slots
    drawn for requests GDAL did not send (its cache answered) are not credited to later reads, so a
    long-lived process never runs ahead of the budget. Without GDAL's count, the estimate stands
    alone."""

    OPEN_ESTIMATE = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drawn = gdal_requests.made() or 0
        self._in_flight = 0

    def reserve(self, limiter: RateLimiter) -> None:
        with self._lock:
            self._drawn += self.OPEN_ESTIMATE
            self._in_flight += self.OPEN_ESTIMATE
        limiter.acquire(self.OPEN_ESTIMATE)

    def settle(self, limiter: RateLimiter) -> None:
        """Draw what GDAL made beyond what was drawn for finished opens."""
        made = gdal_requests.made()
        if made is None:
            return
        with self._lock:
            owed = made - (self._drawn - self._in_flight)
            # paid up to GDAL's count: a surplus (GDAL's cache answered) is not credited to later reads
            self._drawn = made + self._in_flight
        if owed > 0:
            limiter.acquire(owed)

    def release(self, limiter: RateLimiter) -> None:
        with self._lock:
            self._in_flight -= self.OPEN_ESTIMATE
        self.settle(limiter)


#: One per process, as GDAL's counters are.
LEDGER = GdalLedger()


class FileIO:
    """Reads assets with the client's auth rules: the token goes to the API host only."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def fetch(self, key: str, url: str | None) -> bytes:
        """The whole body; ProductNotAvailable on 404/403 or a missing URL."""
        if not url:
            raise ProductNotAvailable(key)
        response = self.transport.request("GET", url, headers={"Accept": "*/*"}, passthrough=ABSENT)
        if response.status_code in ABSENT:
            raise ProductNotAvailable(key, url, response.status_code)
        return response.content

    def fetch_json(self, key: str, url: str | None) -> Any:
        return json.loads(self.fetch(key, url))

    def save(self, key: str, url: str | None, path: str | os.PathLike[str]) -> Path:
        """Download to ``path`` atomically (temporary file in the same directory + rename)."""
        return write_atomic(path, self.fetch(key, url))

    def fetch_range(self, key: str, url: str | None, start: int, end: int) -> tuple[bytes, int]:
        """Bytes ``[start, end)`` (fewer at the end of the file) and the file's size, from one range
        ``GET``; a server answering the whole file (200) gives all of it. ProductNotAvailable on
        404/403 or a missing URL."""
        if not url:
            raise ProductNotAvailable(key)
        response = self.transport.request("GET", url, passthrough=ABSENT, headers={
            "Range": f"bytes={start}-{end - 1}", "Accept": "*/*"})
        if response.status_code in ABSENT:
            raise ProductNotAvailable(key, url, response.status_code)
        if response.status_code != 206:
            return response.content[start:end], len(response.content)
        first, _, size = response.headers.get("Content-Range", "").partition(" ")[2].partition("/")
        if not size.isdigit() or int(first.partition("-")[0] or -1) != start:
            raise ApiError(206, url, "GET", f"unexpected Content-Range for bytes {start}-{end - 1}")
        return response.content, int(size)

    def open_cog(self, key: str, url: str, header: tuple[bytes, int] | None = None) -> RemoteCog:
        """A remote COG read by byte ranges (see :mod:`.cog_ranges`; ``header``: its
        :attr:`~.cog_ranges.RemoteCog.header` from an earlier open); use it in a ``with`` block."""
        return RemoteCog(self, key, url, header)

    def exists(self, url: str) -> bool:
        """Range probe of the first 2 bytes: True on 200/206, False on 404/403; other errors raise."""
        return self.probe(url) is not None

    def probe(self, url: str, length: int = 2) -> tuple[bytes, int] | None:
        """The file's first ``length`` bytes and its size from one range ``GET`` (a probe of a COG
        that is also its header read), None on 404/403; other errors raise."""
        try:
            return self.fetch_range("probe", url, 0, length)
        except ProductNotAvailable:
            return None

    @contextmanager
    def open_raster(self, key: str, url: str) -> Iterator[DatasetReader]:
        """Open a remote COG for windowed reads (GDAL over HTTP, scoped settings).

        Keep all reads inside the ``with`` block: GDAL consults the settings at each request.
        GDAL's requests are paced by the transport's limiter (see :class:`GdalLedger`). An open
        that fails is explained by a transport probe (which waits out a 429) and tried once more.
        """
        limiter = self.transport.limiter
        with http_env(self.transport.authorization_for(url)):
            LEDGER.reserve(limiter)
            try:
                try:
                    dataset = rasterio.open(vsicurl(url))
                except RasterioIOError:
                    self._explain_open_failure(key, url)
                    log.warning("GDAL could not open %s although it exists; trying again", key)
                    LEDGER.settle(limiter)
                    dataset = rasterio.open(vsicurl(url))
                with dataset:
                    yield dataset
            finally:
                LEDGER.release(limiter)

    def _explain_open_failure(self, key: str, url: str) -> None:
        """Turn a GDAL open failure into a precise error by probing with the transport."""
        if not self.exists(url):
            raise ProductNotAvailable(key, url, 404)


def geometry_from_geojson(obj: Any) -> BaseGeometry:
    """A geometry from a bare geometry, a Feature or a FeatureCollection (union of features)."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in obj.get("features", []) if f.get("geometry")]
        if not geoms:
            raise ValueError("empty FeatureCollection")
        return unary_union(geoms)
    if kind == "Feature":
        if not obj.get("geometry"):
            raise ValueError("Feature without geometry")
        return shape(obj["geometry"])
    return shape(obj)
