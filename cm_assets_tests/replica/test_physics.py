"""Golden values of the IME quantification, for the replica's frozen copy and the pipeline's own.

The two implementations share no code; both must give these numbers (worked by hand below), so a
change to either shows here and a bug in the pipeline's shows in the ``ime_agreement`` check."""

import numpy as np
import pytest

from cm_assets import ime
from cm_assets.replica import physics

pytestmark = pytest.mark.fast

IMPLEMENTATIONS = [pytest.param(physics, id="replica"), pytest.param(ime, id="pipeline")]


@pytest.mark.parametrize("module", IMPLEMENTATIONS)
def test_constants(module):
    # 1e-6 ppm * (1000 / 22.4) mol/m³ * M kg/mol, per metre of column
    assert module.ppmm_to_kg_m2("CH4") == pytest.approx(7.1607142857e-07, rel=1e-10)
    assert module.ppmm_to_kg_m2("co2") == pytest.approx(1.9647321429e-06, rel=1e-10)
    assert module.effective_wind(4.2) == pytest.approx(0.36 * 4.2 + 0.43) == pytest.approx(1.942)


@pytest.mark.parametrize("module", IMPLEMENTATIONS)
@pytest.mark.parametrize(("pixels", "area", "instrument", "length"), [
    (25, 900.0, "emi", 150.0),          # sqrt(25 * 900)
    (20000, 900.0, "tan", 2500.0),      # satellite fetch cap
    (400, 9.0, "av3", 60.0),            # sqrt(400 * 9)
    (10000, 9.0, "GAO", 284.0),         # sqrt = 300, airborne fetch cap
])
def test_plume_length(module, pixels, area, instrument, length):
    assert module.plume_length_m(pixels, area, instrument) == pytest.approx(length)


def test_emission_of_a_known_plume():
    # 25 pixels of 900 m² with 100..900 ppm·m (sum 12,500) at U10 = 4.2 m/s (U_eff = 1.942):
    # IME = 7.1607142857e-7 * 12,500 * 900 = 8.055803571 kg, L = 150 m,
    # Q = 3600 * 1.942 * 8.055803571 / 150 = 375.4648929 kg/h
    values = np.full((10, 10), np.nan)
    values[2:7, 3:8] = np.linspace(100, 900, 25).reshape(5, 5)
    assert ime.emission_kg_h(values, 900.0, 4.2, "CH4", "emi") == pytest.approx(375.4648929, rel=1e-9)
    replica_q = (3600 * physics.effective_wind(4.2) * physics.ppmm_to_kg_m2("CH4") * 12_500 * 900
                 / physics.plume_length_m(25, 900.0, "emi"))
    assert replica_q == pytest.approx(375.4648929, rel=1e-9)
