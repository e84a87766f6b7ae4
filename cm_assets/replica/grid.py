"""Scene pixel grids and the pieces placed on them: ``Grid``, ``Patch``, ``read_window``, seeds.

Every synthesized field is a pure function of seeds derived from the world seed and row
identifiers (``derive_seed``), so the same world gives the same arrays on every machine.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass

import numpy as np
from rasterio.transform import Affine

#: Held around rasterio's feature functions (``geometry_mask``, ``shapes``): the server's threads run
#: them in parallel, and run in parallel they now and then warn that their in-memory dataset has no
#: geotransform although the result is right (the pipeline's client takes the same care).
FEATURES_LOCK = threading.Lock()


def derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from any printable parts (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class Grid:
    """A north-up UTM pixel grid."""

    epsg: int
    x0: float
    y0: float
    gsd: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.gsd, 0.0, self.x0, 0.0, -self.gsd, self.y0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the pixel holding UTM point (x, y)."""
        return int(math.floor((self.y0 - y) / self.gsd)), int(math.floor((x - self.x0) / self.gsd))

    def window_transform(self, row: int, col: int) -> Affine:
        return self.transform @ Affine.translation(col, row)


@dataclass
class Patch:
    """A 2-D array placed at (row, col) of a scene grid."""

    row: int
    col: int
    data: np.ndarray

    def window(self, row: int, col: int, height: int, width: int, fill: float | bool) -> np.ndarray:
        """This patch read through a scene window; cells it does not cover get ``fill``."""
        out = np.full((height, width), fill, dtype=self.data.dtype)
        r0, c0 = max(row, self.row), max(col, self.col)
        r1 = min(row + height, self.row + self.data.shape[0])
        c1 = min(col + width, self.col + self.data.shape[1])
        if r0 < r1 and c0 < c1:
            out[r0 - row:r1 - row, c0 - col:c1 - col] = self.data[r0 - self.row:r1 - self.row,
                                                                 c0 - self.col:c1 - self.col]
        return out


def read_window(array: np.ndarray, row: int, col: int, height: int, width: int,
                fill: float | bool) -> np.ndarray:
    """A window of a scene array, padded with ``fill`` where it leaves the scene."""
    return Patch(0, 0, array).window(row, col, height, width, fill)
