"""Identifier grammar of the replica (spec §8.1): scene names, plume suffixes, UUIDs.

Scene names are ``<instrument><YYYYMMDD>t<HHMMSS><tail>``: Tanager ``c<2 digits>s<4 digits>``,
EMIT ``p<5-digit orbit>``, GAO ``p<4 digits>``, AVIRIS-NG and AVIRIS-3 no tail. Plume suffixes
are ``A``..``Z`` by order in the scene; after ``Z`` the replica continues ``AA``, ``AB``, ...
(the real behaviour after ``Z`` is unknown, spec §12.22).
"""

from __future__ import annotations

import re

import numpy as np

SCENE_NAME_PATTERNS = {
    "tan": re.compile(r"^tan\d{8}t\d{6}c\d{2}s\d{4}$"),
    "emi": re.compile(r"^emi\d{8}t\d{6}p\d{5}$"),
    "av3": re.compile(r"^av3\d{8}t\d{6}$"),
    "ang": re.compile(r"^ang\d{8}t\d{6}$"),
    "GAO": re.compile(r"^GAO\d{8}t\d{6}p\d{4}$"),
}
_EMIT_FIRST_ORBIT_DAY = np.datetime64("2022-08-01", "D")


def scene_names(instrument: np.ndarray, timestamp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scene names for instrument codes and UTC timestamps (datetime64[ns])."""
    stamp = np.datetime_as_string(timestamp.astype("datetime64[s]"), unit="s")
    base = np.char.replace(np.char.replace(np.char.replace(stamp, "-", ""), ":", ""), "T", "t")
    n = len(instrument)
    chunk = rng.integers(0, 100, n)
    strip = np.where(rng.random(n) < 0.9, 4001, rng.integers(4002, 4010, n))
    days = (timestamp.astype("datetime64[D]") - _EMIT_FIRST_ORBIT_DAY).astype(int)
    orbit = np.clip(days * 16 + rng.integers(0, 16, n), 0, 99999)
    flight = rng.integers(0, 10000, n)
    tails = np.full(n, "", dtype=object)
    tan = instrument == "tan"
    tails[tan] = [f"c{c:02d}s{s:04d}" for c, s in zip(chunk[tan], strip[tan])]
    emi = instrument == "emi"
    tails[emi] = [f"p{o:05d}" for o in orbit[emi]]
    gao = instrument == "GAO"
    tails[gao] = [f"p{f:04d}" for f in flight[gao]]
    return np.array([i + b + t for i, b, t in zip(instrument, base, tails)], dtype=object)


def plume_suffix(order: int) -> str:
    """Suffix of the ``order``-th (0-based) plume in a scene: A..Z, AA, AB, ..."""
    letters = ""
    k = order
    while True:
        letters = chr(ord("A") + k % 26) + letters
        k = k // 26 - 1
        if k < 0:
            return letters


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` version-4 UUID strings drawn from ``rng``."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = [row.tobytes().hex() for row in raw]
    return np.array([f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes], dtype=object)

