"""Windowed reads of a remote COG by byte ranges sent through the client's own transport.

GDAL's ``/vsicurl/`` asks every file for its size first (a ``HEAD``; no GDAL setting drops it) and
sends its requests outside the client's connection pool, pacing and retries. Here the client
fetches the bytes and GDAL only decodes them:

1. the file's first :data:`HEADER_BYTES` (one range ``GET``, whose ``Content-Range`` also gives the
   size) are opened as a truncated file: the TIFF directory, georeferencing and the byte place of
   every tile. A header GDAL cannot read whole is fetched again, :data:`GROWTH` times longer, up to
   :data:`MAX_HEADER_BYTES`;
2. a window's tiles are fetched (neighbouring tiles in one ``GET``) and GDAL reads the window from
   a ``/vsisparse/`` file made of the header and those tiles.

A file whose header does not fit (or whose tiles are not placed where a COG places them) is read
by GDAL over HTTP instead (:meth:`~.files.FileIO.open_raster`).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import rasterio
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader, MemoryFile
from rasterio.windows import Window

from cm_assets.carbonmapper.geo import GeoArray

if TYPE_CHECKING:
    from cm_assets.carbonmapper.files import FileIO

log = logging.getLogger("cm_assets.carbonmapper")

#: Bytes fetched for the header first (GDAL's own first read of a remote file is 16 KB).
HEADER_BYTES = 16 * 1024
GROWTH = 8
MAX_HEADER_BYTES = 1024 * 1024
#: Tiles closer than this are fetched in one request: a crop's two rows of tiles lie a row of tiles
#: apart, and at 100 ms a request and 80 Mbit/s a round trip costs as much as 1 MB.
MERGE_GAP = 1024 * 1024
#: GDAL's COGs put each tile's size in the 4 bytes before it and repeat its last 4 bytes after it.
TILE_MARGIN = 4


class HeaderNotUnderstood(Exception):
    """The first bytes of the file are not a complete TIFF header with tile places."""


class RemoteCog:
    """One remote COG: ``dataset`` (its header: shape, georeferencing, tiles) and :meth:`read`.

    Where the header cannot be read from the file's first :data:`MAX_HEADER_BYTES`, ``dataset`` is
    GDAL's own remote dataset and :meth:`read` reads through it."""

    def __init__(self, io: FileIO, key: str, url: str, header: tuple[bytes, int] | None = None) -> None:
        """``header``: the file's first bytes and size, already fetched (:attr:`header` of an
        earlier open, or a look-up's read of them): no request when GDAL reads the header from
        them, else they are fetched (longer)."""
        self._io, self._key, self._url = io, key, url
        self._files = ExitStack()
        self._header, self.size = header or (b"", 0)
        self.dataset: DatasetReader = self._given_header() or self._load_header(
            max(HEADER_BYTES, len(self._header) * GROWTH))

    @property
    def header(self) -> tuple[bytes, int] | None:
        """The header bytes this open read the dataset from and the file's size, to open the file
        again without fetching them; None when GDAL reads the file over HTTP."""
        return (self._header, self.size) if self._header else None

    def close(self) -> None:
        self._files.close()

    def __enter__(self) -> RemoteCog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, window: Window | None = None) -> GeoArray:
        """The values of ``window`` (None: the whole raster), fetching only its tiles."""
        while self._header:
            try:
                ranges = self._tile_ranges(window)
                break
            except HeaderNotUnderstood as why:  # tile places beyond the header fetched: a longer one
                if len(self._header) >= min(self.size, MAX_HEADER_BYTES):
                    self.dataset = self._remote(why)
                else:
                    self.dataset = self._load_header(len(self._header) * GROWTH)
        if not self._header or not ranges:  # read through GDAL, or every tile is in the header
            return GeoArray.read(self.dataset, window)
        regions = [(0, self._header)]
        for start, end in merged_spans(ranges, MERGE_GAP):
            regions.append((start, self._io.fetch_range(self._key, self._url, start, end)[0]))
        with ExitStack() as files:
            dataset = files.enter_context(rasterio.open(_sparse_file(files, self.size, regions)))
            return GeoArray.read(dataset, window)

    def _given_header(self) -> DatasetReader | None:
        if not self._header:
            return None
        try:
            return _open_header(self._files, self._header)
        except HeaderNotUnderstood:
            return None

    def _load_header(self, length: int) -> DatasetReader:
        """The header dataset from the first ``length`` bytes (longer until GDAL reads it whole);
        GDAL's remote dataset when :data:`MAX_HEADER_BYTES` do not do."""
        self._files.close()
        while True:
            self._header, self.size = self._io.fetch_range(self._key, self._url, 0, length)
            try:
                return _open_header(self._files, self._header)
            except HeaderNotUnderstood as why:
                if len(self._header) >= self.size or length >= MAX_HEADER_BYTES:
                    return self._remote(why)
                length *= GROWTH

    def _remote(self, why: HeaderNotUnderstood) -> DatasetReader:
        """GDAL's own remote dataset, for a file whose header is not in its first bytes."""
        log.info("%s: header not read from the first %d bytes (%s); reading through GDAL",
                 self._key, len(self._header), why)
        self._files.close()
        self._header = b""
        return self._files.enter_context(self._io.open_raster(self._key, self._url))

    def _tile_ranges(self, window: Window | None) -> list[tuple[int, int]]:
        """Byte ranges ``[start, end)`` of the tiles under ``window`` (every band's) that the
        header fetched does not already hold."""
        dataset, held = self.dataset, len(self._header)
        rows, cols = dataset.block_shapes[0]
        window = window or Window(0, 0, dataset.width, dataset.height)
        row0, col0 = int(window.row_off) // rows, int(window.col_off) // cols
        row1 = (int(window.row_off + window.height) - 1) // rows
        col1 = (int(window.col_off + window.width) - 1) // cols
        ranges = set()
        for band in range(1, dataset.count + 1):
            for y in range(row0, row1 + 1):
                for x in range(col0, col1 + 1):
                    offset = _int_tag(dataset, f"BLOCK_OFFSET_{x}_{y}", band)
                    length = _int_tag(dataset, f"BLOCK_SIZE_{x}_{y}", band)
                    if length == 0:
                        continue  # a sparse tile: GDAL reads it as nodata without any bytes
                    if offset <= 0 or offset + length > self.size:
                        raise HeaderNotUnderstood(f"tile {x},{y} of band {band} at {offset}+{length}")
                    end = min(offset + length + TILE_MARGIN, self.size)
                    if end > held:
                        ranges.add((max(offset - TILE_MARGIN, held), end))
        return sorted(ranges)


def merged_spans(ranges: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Sorted ``[start, end)`` ranges joined where less than ``gap`` bytes lie between them."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if spans and start - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _open_header(files: ExitStack, header: bytes) -> DatasetReader:
    try:
        memory = files.enter_context(MemoryFile(header))
        return files.enter_context(memory.open())
    except RasterioError as error:
        files.close()
        raise HeaderNotUnderstood(str(error)) from None


def _sparse_file(files: ExitStack, size: int, regions: list[tuple[int, bytes]]) -> str:
    """A ``/vsisparse/`` path of ``size`` bytes holding each ``(offset, data)`` region."""
    parts = []
    for offset, data in regions:
        memory = files.enter_context(MemoryFile(data))
        parts.append(f"<SubfileRegion><Filename relative=\"0\">{escape(memory.name)}</Filename>"
                     f"<DestinationOffset>{offset}</DestinationOffset><SourceOffset>0</SourceOffset>"
                     f"<RegionLength>{len(data)}</RegionLength></SubfileRegion>")
    xml = f"<VSISparseFile><Length>{size}</Length>{''.join(parts)}</VSISparseFile>"
    return "/vsisparse/" + files.enter_context(MemoryFile(xml.encode(), ext=".xml")).name


def _int_tag(dataset: DatasetReader, name: str, band: int) -> int:
    try:
        value = dataset.get_tag_item(name, "TIFF", bidx=band)
    except RasterioError as error:
        raise HeaderNotUnderstood(f"{name} of band {band}: {error}") from None
    if value is None:
        raise HeaderNotUnderstood(f"no {name} for band {band}")
    return int(value)
