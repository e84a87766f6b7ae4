"""L2B scene rasters: windowed COG reads by byte ranges, never a whole-scene download."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from concurrent.futures import Executor

import numpy as np

from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds
from shapely.geometry.base import BaseGeometry

from cm_assets.carbonmapper.cog_ranges import RemoteCog
from cm_assets.carbonmapper.files import FileIO
from cm_assets.carbonmapper.enums import CollectionId, version_key
from cm_assets.carbonmapper.errors import NoOverlap, NotGeoreferenced, ProductNotAvailable
from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry
from cm_assets.carbonmapper.models import SceneItem
from cm_assets.carbonmapper.once import OncePerKey
from cm_assets.carbonmapper.urls import AssetRef, AssetUrls

#: Band name -> asset key. ``rgb`` lives in the sibling ``l2b-rgb-<version>`` collection.
L2B_ASSETS: dict[str, str] = {
    "cmf": "cmf.tif",
    "cmf-unortho": "cmf-unortho.tif",
    "uncertainty": "uncertainty.tif",
    "uncertainty-unortho": "uncertainty-unortho.tif",
    "artifact-mask": "artifact-mask.tif",
    "rgb": "rgb.tif",
    "uas": "uas.txt",
}
RASTER_BANDS = tuple(b for b in L2B_ASSETS if b != "uas")


def derive_scene_urls(scene_name: str, collection: CollectionId, urls: AssetUrls) -> dict[str, str]:
    """Proxy URLs of every L2B asset of a scene in ``collection`` plus its RGB sibling (§7.3)."""
    out = {band: urls.proxy(AssetRef(str(collection), scene_name, key))
           for band, key in L2B_ASSETS.items() if band != "rgb"}
    out["rgb"] = rgb_candidates(scene_name, collection, urls)[0]
    return out


def rgb_candidates(scene_name: str, collection: CollectionId, urls: AssetUrls) -> list[str]:
    """RGB sibling URLs in probe order: same version, then the visualization-only ``v2``
    release that holds the RGB of L2B versions older than ``v3a``."""
    versions = [collection.version]
    if version_key(collection.version) < version_key("v3a") and collection.version != "v2":
        versions.append("v2")
    return [urls.proxy(AssetRef(str(collection.l2b_rgb().with_version(v)), scene_name, "rgb.tif"))
            for v in versions]


class SceneRaster:
    """One L2B scene's assets; every raster read is a windowed read of a remote COG."""

    def __init__(self, item: SceneItem, urls: dict[str, str], io: FileIO,
                 alternates: dict[str, list[str]] | None = None,
                 headers: dict[str, tuple[bytes, int]] | None = None) -> None:
        """``headers``: band -> first bytes and size of its file already fetched (a look-up's probe)."""
        self.item = item
        self.urls = dict(urls)
        self._io = io
        self._alternates = {band: list(c) for band, c in (alternates or {}).items() if len(c) > 1}
        self._probing = threading.Lock()
        self._headers: OncePerKey[tuple[bytes, int] | ProductNotAvailable | None] = OncePerKey(headers)

    def __repr__(self) -> str:
        return f"SceneRaster({self.scene_name!r}, collection={self.collection!r})"

    @property
    def scene_name(self) -> str:
        return self.item.scene_name

    @property
    def collection(self) -> str:
        return self.item.collection

    @property
    def uas(self) -> str:
        """The ``uas.txt`` sidecar as text."""
        return self._io.fetch("uas", self.urls.get("uas")).decode("utf-8")

    def _url(self, band: str) -> str:
        if band not in RASTER_BANDS:
            raise KeyError(f"not a raster band: {band!r} (choose from {', '.join(RASTER_BANDS)})")
        with self._probing:  # plumes of one scene are cropped from several threads
            candidates = self._alternates.pop(band, None)
            if candidates:  # first use: keep the first candidate that exists
                self.urls[band] = next((u for u in candidates if self._io.exists(u)), candidates[0])
            url = self.urls.get(band)
        if not url:
            raise ProductNotAvailable(band)
        return url

    def _open(self, band: str) -> RemoteCog:
        """The band's COG; its header is fetched once for all the reads of this scene (plumes of
        one scene are cropped at once: the others wait for the first one's header). A band the
        scene lacks is asked for once; another failure is not kept (the next read tries again)."""
        url = self._url(band)
        fetched: list[RemoteCog] = []

        def first_open() -> tuple[bytes, int] | ProductNotAvailable | None:
            try:
                fetched.append(self._io.open_cog(band, url))
            except ProductNotAvailable as missing:
                return missing
            return fetched[0].header

        header = self._headers.get(band, first_open)
        if isinstance(header, ProductNotAvailable):  # a new error per read: threads raise it at once
            raise ProductNotAvailable(header.key, header.url, header.status)
        return fetched[0] if fetched else self._io.open_cog(band, url, header)

    def read_polygon(self, polygon: BaseGeometry, bands: Iterable[str] = ("cmf",),
                     crs: str = "EPSG:4326") -> dict[str, GeoArray | None]:
        """Per band, the native-resolution window covering ``polygon``'s bounds (None: no overlap)."""
        out: dict[str, GeoArray | None] = {}
        for band in bands:
            with self._open(band) as cog:
                _require_crs(cog.dataset, band)
                local = reproject_geometry(polygon, crs, cog.dataset.crs)
                window = _window(cog.dataset, local.bounds, pad_px=0)
                out[band] = cog.read(window) if window is not None else None
        return out

    def crop(self, band: str, outline: BaseGeometry, pad_px: int = 64,
             crs: str = "EPSG:4326") -> GeoArray:
        """The window around ``outline``'s bounds, rounded out, padded by ``pad_px``, clipped."""
        with self._open(band) as cog:
            _require_crs(cog.dataset, band)
            bounds = transform_bounds(crs, cog.dataset.crs, *outline.bounds, densify_pts=21)
            window = _window(cog.dataset, bounds, pad_px=pad_px)
            if window is None:
                raise NoOverlap(f"{self.scene_name} {band}: outline does not overlap the raster")
            return cog.read(window)

    def crops(self, bands: Iterable[str], outline: BaseGeometry, pool: Executor, pad_px: int = 64,
              crs: str = "EPSG:4326") -> dict[str, GeoArray | None]:
        """:meth:`crop` of each band, all read at once on ``pool`` (a band is a header read, then a
        tile read: two round trips a crop instead of two a band; not the pool the caller runs on, as
        the caller waits for its bands); None for a band the scene does not have."""
        def one(band: str) -> GeoArray | None:
            try:
                return self.crop(band, outline, pad_px=pad_px, crs=crs)
            except ProductNotAvailable:
                return None

        bands = list(bands)
        return dict(zip(bands, pool.map(one, bands)))

    def read_pixels(self, band: str, window: Window | None = None) -> np.ndarray:
        """Raw values of a pixel window (bands first); the way to read ``*-unortho`` frames."""
        with self._open(band) as cog:
            return cog.read(window).values


def _require_crs(dataset: DatasetReader, band: str) -> None:
    if dataset.crs is None:
        raise NotGeoreferenced(f"{band} has no CRS (raw sensor frame); use read_pixels()")


def _window(dataset: DatasetReader, bounds: tuple[float, float, float, float],
            pad_px: int) -> Window | None:
    """Pixel window of ``bounds`` (dataset CRS) rounded outwards, padded, clipped; None if empty."""
    raw = from_bounds(*bounds, transform=dataset.transform)
    col0 = math.floor(raw.col_off + 1e-9) - pad_px
    row0 = math.floor(raw.row_off + 1e-9) - pad_px
    col1 = math.ceil(raw.col_off + raw.width - 1e-9) + pad_px
    row1 = math.ceil(raw.row_off + raw.height - 1e-9) + pad_px
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, dataset.width), min(row1, dataset.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)
