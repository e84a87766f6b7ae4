"""Unit absorption spectra (``uas.txt``): a coarse band model of each gas over the instrument's window."""

from __future__ import annotations

import numpy as np

UAS_WINDOWS_NM = {
    ("CH4", "tan"): (2100.0, 2430.0, 5.0),
    ("CH4", "emi"): (2100.0, 2480.0, 7.4),
    ("CH4", "av3"): (2100.0, 2480.0, 7.4),
    ("CH4", "ang"): (2100.0, 2480.0, 5.0),
    ("CH4", "GAO"): (2100.0, 2480.0, 5.0),
    ("CO2", "tan"): (1960.0, 2430.0, 5.0),
    ("CO2", "emi"): (1960.0, 2430.0, 7.4),
}
_DEFAULT_CO2_WINDOW = (1860.0, 2190.0, 5.0)
# (centre nm, width nm, strength per ppm·m): a coarse band model of each gas's absorption
_BANDS = {
    "CH4": ((2204.0, 18.0, 0.6e-5), (2253.0, 14.0, 1.1e-5), (2290.0, 12.0, 1.6e-5),
            (2317.0, 6.0, 3.9e-5), (2334.0, 10.0, 2.4e-5), (2364.0, 14.0, 2.0e-5),
            (2390.0, 16.0, 1.4e-5), (2420.0, 22.0, 0.8e-5), (2460.0, 25.0, 0.4e-5)),
    "CO2": ((1960.0, 10.0, 0.9e-7), (2008.0, 8.0, 2.2e-7), (2061.0, 9.0, 2.0e-7),
            (2110.0, 14.0, 0.3e-7), (2270.0, 30.0, 0.05e-7)),
}


def unit_absorption_spectrum(gas: str, instrument: str) -> str:
    """Tab-separated ``wavelength_nm``/``absorption_per_ppmm`` table over the retrieval window."""
    start, stop, step = UAS_WINDOWS_NM.get((gas, instrument), _DEFAULT_CO2_WINDOW)
    wavelengths = np.arange(start, stop + 1e-9, step)
    absorption = np.zeros_like(wavelengths)
    for centre, width, strength in _BANDS[gas]:
        absorption += strength / (1.0 + ((wavelengths - centre) / width) ** 2)
    lines = ["wavelength_nm\tabsorption_per_ppmm"]
    lines += [f"{wl:.2f}\t{a:.6e}" for wl, a in zip(wavelengths, absorption)]
    return "\n".join(lines) + "\n"
