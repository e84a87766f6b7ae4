"""Instruments of the synthetic world: eras, pixel sizes, scene grids and detection limits.

Scene grids stay at most 1200 px a side so generated rasters stay small; satellite swaths are
the real ones (Tanager ~19 km, EMIT ~72 km), airborne flight lines are a few km. Detection is a
smooth probability ``1 / (1 + (limit / Q)^4)`` around the instrument's CH4 detection limit
(physics-and-scale §2); CO2 limits are in kg/h of CO2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Instrument:
    """One sensor and how the world samples its overpasses."""

    code: str
    platform: str
    start: date
    stop: date | None
    gsd: float
    width_px: int
    height_px: int
    limit_ch4: float
    limit_co2: float
    plume_share: float
    airborne: bool
    max_off_nadir: float
    growth: float


INSTRUMENTS: dict[str, Instrument] = {
    i.code: i
    for i in (
        Instrument("tan", "Tanager", date(2024, 9, 1), None, 30.0, 640, 1200, 100.0, 150_000.0, 0.27, False, 30.0, 1.0),
        Instrument("emi", "ISS", date(2022, 8, 10), None, 60.0, 1200, 1200, 1000.0, 400_000.0, 0.14, False, 25.0, 0.0),
        Instrument("av3", "AVIRIS-3", date(2024, 1, 15), None, 4.0, 1000, 1200, 10.0, 20_000.0, 0.08, True, 12.0, 0.5),
        Instrument("ang", "AVIRIS-NG", date(2016, 8, 15), date(2023, 12, 31), 5.0, 1000, 1200, 5.0, 20_000.0, 0.22, True, 12.0, 0.0),
        Instrument("GAO", "Global Airborne Observatory", date(2019, 4, 1), None, 4.0, 1000, 1200, 10.0, 20_000.0, 0.29, True, 12.0, 0.5),
    )
}
