"""Malformed answers on demand (``/_replica/corrupt``), to test that clients survive bad records.

Two kinds, both replica-only and off until scheduled:

* a **record corruption** rewrites every served copy of one plume in ``catalog/plumes/annotated``
  and ``catalog/plume/{id}``: ``set`` merges fields (any JSON value, e.g. ``{"plume_bounds": 5}``),
  ``drop`` removes fields, ``replace`` substitutes the whole item by any JSON value (a string,
  ``null``, a list), and ``copies`` appends extra copies right after it (each ``{"set": {...}}``
  applied to the *uncorrupted* record; ``{}`` is an identical duplicate);
* an **asset corruption** serves non-raster bytes for every asset whose path contains a given
  substring (proxy and CDN alike, Range requests included), as a damaged COG would be.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_UNSET = object()
GARBAGE = b"this is not a GeoTIFF, the replica was asked to corrupt it\n" * 512


@dataclass
class RecordCorruption:
    plume_id: str
    set: dict[str, Any] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    replace: Any = _UNSET
    copies: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, item: dict[str, Any]) -> list[Any]:
        """The served items for the uncorrupted ``item``: the corrupted one, then its copies."""
        if self.replace is not _UNSET:
            first: Any = copy.deepcopy(self.replace)
        else:
            first = {k: v for k, v in item.items() if k not in self.drop}
            first.update(copy.deepcopy(self.set))
        return [first] + [{**item, **copy.deepcopy(c.get("set", {}))} for c in self.copies]

    def describe(self) -> dict[str, Any]:
        out = {"plume_id": self.plume_id, "set": self.set, "drop": self.drop, "copies": self.copies}
        if self.replace is not _UNSET:
            out["replace"] = self.replace
        return out


def _record(body: dict[str, Any]) -> RecordCorruption:
    plume_id = body.get("plume_id")
    if not isinstance(plume_id, str) or not plume_id:
        raise ValueError("expected 'plume_id' (the colloquial id of a served plume)")
    changes, drop, copies = body.get("set", {}), body.get("drop", []), body.get("copies", [])
    if not isinstance(changes, dict) or not isinstance(drop, list) or not isinstance(copies, list):
        raise ValueError("'set' must be an object, 'drop' and 'copies' lists")
    if not all(isinstance(c, dict) and isinstance(c.get("set", {}), dict) for c in copies):
        raise ValueError("each copy must be an object with an optional 'set' object")
    return RecordCorruption(plume_id, changes, [str(d) for d in drop],
                            body["replace"] if "replace" in body else _UNSET, copies)


@dataclass
class Corruptions:
    """The scheduled corruptions (thread-safe)."""

    data_dir: Path
    _records: dict[str, RecordCorruption] = field(default_factory=dict, init=False)
    _assets: list[str] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def schedule(self, body: Any) -> None:
        """Add one corruption from the admin JSON body; ValueError when invalid."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        if "asset" in body:
            if not isinstance(body["asset"], str) or not body["asset"]:
                raise ValueError("'asset' must be a non-empty substring of asset paths")
            with self._lock:
                self._assets.append(body["asset"])
            return
        corruption = _record(body)
        with self._lock:
            self._records[corruption.plume_id] = corruption

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._assets.clear()

    def pending(self) -> dict[str, Any]:
        with self._lock:
            return {"records": [c.describe() for c in self._records.values()], "assets": list(self._assets)}

    def items(self, items: list[dict[str, Any]]) -> list[Any]:
        """``items`` as served: each scheduled plume corrupted (and copied) in place."""
        with self._lock:
            if not self._records:
                return items
            records = dict(self._records)
        out: list[Any] = []
        for item in items:
            corruption = records.get(item.get("plume_id"))
            out += corruption.apply(item) if corruption else [item]
        return out

    def garbage_file(self, path: str) -> Path | None:
        """The file to serve instead of the asset at ``path`` when it is to be corrupted."""
        with self._lock:
            hit = any(part in path for part in self._assets)
        if not hit:
            return None
        target = self.data_dir / "corrupt-asset.bin"
        if not target.exists():
            tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
            tmp.write_bytes(GARBAGE)
            tmp.replace(target)
        return target
