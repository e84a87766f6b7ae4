"""A plume report's reads are in flight together (at a far-away API's latency, one by one they were
most of its time)."""

from __future__ import annotations

import threading

from cm_assets.carbonmapper import PlumeProducts, SceneRaster
from cm_assets.reports.plume import CONTEXT_BANDS, FOUR_PANEL, plume_report


def test_a_reports_products_and_band_reads_are_in_flight_together(client, published_plume, tmp_path,
                                                                   monkeypatch):
    """Barriers as wide as each group of reads: broken unless the group's reads run at once."""
    products = threading.Barrier(len(FOUR_PANEL), timeout=20)
    crops = threading.Barrier(len(CONTEXT_BANDS), timeout=20)
    raster, crop = PlumeProducts.raster, SceneRaster.crop
    monkeypatch.setattr(PlumeProducts, "raster", lambda self, name: products.wait() * 0 or raster(self, name))
    monkeypatch.setattr(SceneRaster, "crop",
                        lambda self, *args, **kwargs: crops.wait() * 0 or crop(self, *args, **kwargs))
    report = plume_report(client, published_plume.plume_id, tmp_path)
    assert set(report.figures) == {"four_panel", "l2b_context", "l3a_vs_l2b"} and report.notes == []
