"""One source on demand: its profile (recomputed statistics next to Carbon Mapper's) and the
emission timeline. Fetches the source detail (every attributed plume) and the overpasses over
its point only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cm_assets.carbonmapper.client import CarbonMapperClient
from cm_assets.reports import plots
from cm_assets.reports.files import Report
from cm_assets.reports.source_profile import detections, profile_markdown, source_profile

#: Half-width (degrees) of the box around the source point searched for overpasses.
FOOTPRINT_PAD_DEG = 0.01


def overpasses(client: CarbonMapperClient, lon: float, lat: float) -> pd.DataFrame:
    """Scene footprints (name, W, S, E, N) of every overpass near the point."""
    bbox = (lon - FOOTPRINT_PAD_DEG, lat - FOOTPRINT_PAD_DEG, lon + FOOTPRINT_PAD_DEG, lat + FOOTPRINT_PAD_DEG)
    rows = [dict(zip(["west", "south", "east", "north"], s.bounds), name=s.name)
            for s in client.iter_scene_footprints(bbox=bbox) if s.bounds]
    return pd.DataFrame(rows, columns=["name", "west", "south", "east", "north"])


def _json_ready(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k != "geometry"}
    return {k: (v.isoformat() if isinstance(v, pd.Timestamp) else str(v) if hasattr(v, "value") else v)
            for k, v in out.items()}


def source_report(client: CarbonMapperClient, source_name: str, out_dir: Path, *,
                  dpi: int = plots.FULL_DPI) -> tuple[Report, dict]:
    """Write ``profile.md``, ``profile.json``, ``detections.csv`` and ``timeline.png`` under
    ``out_dir``; returns the report and the profile row. Raises :class:`SourceNotFound`."""
    detail = client.get_source(source_name)
    point = detail.point
    footprints = overpasses(client, point.x, point.y) if point is not None else pd.DataFrame()
    row, plumes = source_profile(detail, footprints), detections(detail)
    report = Report(f"source {detail.source_name}", Path(out_dir))
    report.sources["profile"] = f"source detail ({len(plumes)} plumes) and {len(footprints)} overpasses"
    report.add("timeline", "timeline.png",
               plots.source_timeline(detail.source_name, plumes, detail.emission_auto, dpi=dpi), figure=True)
    markdown = profile_markdown(row) + "\n![timeline](timeline.png)\n"
    report.add("profile", "profile.md", markdown)
    report.add("profile_json", "profile.json", json.dumps(_json_ready(row), indent=2, default=str))
    report.add("detections", "detections.csv", plumes.to_csv(index=False))
    return report, row
