"""The replica's own, frozen copy of the IME quantification it solves its plumes for.

The pipeline recomputes every plume's emission with ``cm_assets.ime``; the replica must not share
that code, or the ``ime_agreement`` check would compare the pipeline with itself and could never
catch a bug in it. These constants are written out as numbers and stay fixed: a change here changes
the synthetic world, and ``cm_assets_tests/replica/test_physics.py`` pins them with golden values.

* ppm·m of enhancement to kg/m²: ``1e-6 * (1000 / 22.4) * M`` with M = 0.01604 kg/mol (CH4) and
  0.04401 kg/mol (CO2), written out below.
* effective wind ``U_eff = 0.36 * U10 + 0.43`` (m/s).
* plume length ``L = sqrt(N_pix * A_pix)``, at most 2500 m for the satellites (``tan``, ``emi``)
  and 284 m for the airborne instruments.
"""

from __future__ import annotations

import math

KG_M2_PER_PPMM = {"CH4": 7.160714285714285e-07, "CO2": 1.964732142857143e-06}
SATELLITES = ("tan", "emi")
SATELLITE_FETCH_M = 2500.0
AIRBORNE_FETCH_M = 284.0


def ppmm_to_kg_m2(gas: str) -> float:
    """kg/m² of one ppm·m column enhancement of ``gas``."""
    return KG_M2_PER_PPMM[gas.upper()]


def effective_wind(u10: float) -> float:
    """Effective wind speed (m/s) from the 10 m wind speed."""
    return 0.36 * u10 + 0.43


def plume_length_m(n_pixels: int, pixel_area_m2: float, instrument: str) -> float:
    """``sqrt(N * A)``, capped at the instrument's fetch limit."""
    cap = SATELLITE_FETCH_M if instrument.lower() in SATELLITES else AIRBORNE_FETCH_M
    return min(math.sqrt(n_pixels * pixel_area_m2), cap)
