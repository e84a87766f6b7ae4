"""Purpose-made plume payloads and tables for tests that do not need the replica."""

from __future__ import annotations

from typing import Any

from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.storage.layout import catalog_day, quarantine_day
from cm_assets.storage.store import Storage
from cm_assets.defs.catalog.build import build_catalog_days


def payload(suffix: str = "A", day: str = "2026-10-01", **overrides: Any) -> dict[str, Any]:
    """A well-formed PlumeAnnotatedOut record observed on ``day``."""
    stamp = day.replace("-", "")
    record = {
        "id": f"00000000-0000-4000-8000-{stamp}{ord(suffix):04d}",
        "plume_id": f"tan{stamp}t181625c77s4001-{suffix}",
        "gas": "CH4",
        "geometry_json": {"type": "Point", "coordinates": [-103.9, 32.06]},
        "scene_id": "0589e686-c524-4c79-b5b5-c0af09c9f2b1",
        "scene_timestamp": f"{day}T18:16:25Z",
        "instrument": "tan",
        "emission_auto": 950.0,
        "emission_uncertainty_auto": 120.0,
        "plume_tif": "https://cdn.example/l3a-vis-ch4-mfa-v3c/x_plume.tif?Signature=abc&Expires=1",
        "plume_bounds": [-103.92, 32.05, -103.88, 32.07],
        "plume_quality": "good",
        "wind_speed_avg_auto": 4.0,
        "wind_direction_avg_auto": 180.0,
        "emission_version": "v3c",
        "sector": "1B2",
        "status": "published",
    }
    record.update(overrides)
    return record


def catalog(day: str, payloads: list[dict]):
    """The catalog and quarantine frames the asset would write for ``payloads``."""
    return build_catalog_days({day: payloads}, PlumeRecord.parse)


SUFFIXES = "ABCDEFGH"


def write_day(store: Storage, day: str, plumes: int, malformed: int = 0) -> None:
    """Write day ``day``'s catalog file with ``plumes`` good plumes, and its quarantine file with
    ``malformed`` refused ones (or remove it)."""
    good = [payload(s, day=day) for s in SUFFIXES[:plumes]]
    bad = [payload(s, day=day, gas=None) for s in "ZY"[:malformed]]
    frame, quarantined = catalog(day, good + bad)
    store.write_parquet(frame, catalog_day(day))
    if malformed:
        store.write_parquet(quarantined, quarantine_day(day))
    else:
        store.remove(quarantine_day(day))
