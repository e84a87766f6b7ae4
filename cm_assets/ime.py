"""Integrated-mass-enhancement (IME) quantification of the pipeline.

The pipeline recomputes every plume's emission from the downloaded rasters with these functions.
The replica solves its plumes with its own frozen copy (``cm_assets.replica.physics``), so the
two agree to float precision when both are right, except for records the replica deliberately
perturbs (see ``cm_assets.replica``), and the ``ime_agreement`` check catches a bug here.

Constants (Carbon Mapper's exact ones are not public; these are documented choices):

* ``PPMM_TO_KG_M2`` — ppm·m of CH4 to kg/m², STP form ``1e-6 * (1000 / 22.4) * 0.01604``.
  CO2 uses the same form with M = 44.01 g/mol.
* Effective wind ``U_eff = a * U10 + b`` with the EMIT calibration ``a = 0.36, b = 0.43``
  for every instrument.
* Plume length ``L = sqrt(N_pix * A_pix)``, capped at the fetch limit (2500 m for satellites,
  284 m for airborne instruments).
"""

from __future__ import annotations

import math

import numpy as np

MOLAR_VOLUME_STP_L = 22.4
MOLAR_MASS_KG = {"CH4": 0.01604, "CO2": 0.04401}
WIND_A = 0.36
WIND_B = 0.43
SATELLITE_INSTRUMENTS = frozenset({"tan", "emi"})
FETCH_CAP_M = {"satellite": 2500.0, "airborne": 284.0}


def ppmm_to_kg_m2(gas: str) -> float:
    """Mass per area (kg/m²) of one ppm·m column enhancement of ``gas``."""
    return 1e-6 * (1000.0 / MOLAR_VOLUME_STP_L) * MOLAR_MASS_KG[gas.upper()]


def effective_wind(u10: float) -> float:
    """Effective wind speed (m/s) from the 10 m wind speed."""
    return WIND_A * u10 + WIND_B


def fetch_cap_m(instrument: str) -> float:
    """Maximum plume length used in quantification for ``instrument``."""
    kind = "satellite" if instrument.lower() in SATELLITE_INSTRUMENTS else "airborne"
    return FETCH_CAP_M[kind]


def ime_kg(concentrations_ppmm: np.ndarray, pixel_area_m2: float, gas: str) -> float:
    """IME in kg: the sum of finite, positive-or-negative enhancements times pixel area."""
    total = float(np.nansum(np.asarray(concentrations_ppmm, dtype="float64")))
    return ppmm_to_kg_m2(gas) * total * pixel_area_m2


def plume_length_m(n_pixels: int, pixel_area_m2: float, instrument: str) -> float:
    """Plume length ``sqrt(N * A)`` capped at the instrument's fetch limit."""
    return min(math.sqrt(n_pixels * pixel_area_m2), fetch_cap_m(instrument))


def emission_kg_h(
    concentrations_ppmm: np.ndarray,
    pixel_area_m2: float,
    wind_speed_m_s: float,
    gas: str,
    instrument: str,
) -> float | None:
    """Emission rate ``Q = 3600 * U_eff * IME / L`` in kg/h from an IME-clipped raster.

    ``concentrations_ppmm`` holds NaN outside the IME mask (as Carbon Mapper's v3a+ rasters do).
    Returns None when the mask is empty.
    """
    values = np.asarray(concentrations_ppmm, dtype="float64")
    n_pixels = int(np.isfinite(values).sum())
    if n_pixels == 0:
        return None
    length = plume_length_m(n_pixels, pixel_area_m2, instrument)
    return 3600.0 * effective_wind(wind_speed_m_s) * ime_kg(values, pixel_area_m2, gas) / length
