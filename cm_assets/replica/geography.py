"""Emission regions of the synthetic world: real basins, coal fields, cities and farm belts.

Each region is a centre, a spread (km, 1-sigma) and the sector mix of its emitters. Weights are
relative shares of emitters; they roughly follow where Carbon Mapper detects plumes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A cluster of point emitters around a real place."""

    name: str
    lon: float
    lat: float
    spread_km: float
    weight: float
    sectors: dict[str, float]
    country: str
    state: str
    offshore: bool = False


_OG = {"1B2": 0.9, "NA": 0.05, "other": 0.05}
_WASTE = {"6A": 0.85, "6B": 0.1, "NA": 0.05}
_COAL = {"1B1a": 0.9, "NA": 0.1}
_DAIRY = {"4B": 0.8, "1B2": 0.1, "6A": 0.1}

REGIONS: tuple[Region, ...] = (
    Region("Permian Delaware", -103.9, 32.0, 45, 16, _OG, "United States", "New Mexico"),
    Region("Permian Midland", -101.9, 31.9, 40, 10, _OG, "United States", "Texas"),
    Region("San Joaquin", -119.3, 35.4, 30, 4, {"1B2": 0.7, "4B": 0.2, "6A": 0.1}, "United States", "California"),
    Region("Central Valley dairies", -119.4, 36.3, 35, 3, _DAIRY, "United States", "California"),
    Region("Denver-Julesburg", -104.6, 40.3, 30, 4, {"1B2": 0.8, "4B": 0.15, "NA": 0.05}, "United States", "Colorado"),
    Region("Appalachia", -80.3, 39.9, 45, 4, {"1B2": 0.6, "1B1a": 0.4}, "United States", "Pennsylvania"),
    Region("Haynesville", -93.4, 32.4, 35, 3, _OG, "United States", "Louisiana"),
    Region("Eagle Ford", -98.5, 28.6, 40, 3, _OG, "United States", "Texas"),
    Region("Bakken", -103.2, 47.8, 40, 2, _OG, "United States", "North Dakota"),
    Region("Gulf of Mexico shelf", -91.5, 28.6, 40, 1.5, {"1B2": 1.0}, "United States", "Louisiana", True),
    Region("Uinta", -109.6, 40.1, 25, 1.5, _OG, "United States", "Utah"),
    Region("Los Angeles landfills", -118.2, 34.2, 25, 2.5, _WASTE, "United States", "California"),
    Region("Mexico City landfills", -99.1, 19.5, 20, 1.5, _WASTE, "Mexico", "Mexico City"),
    Region("Delhi landfills", 77.2, 28.6, 20, 1.5, _WASTE, "India", "Delhi"),
    Region("Buenos Aires landfills", -58.5, -34.6, 20, 1, _WASTE, "Argentina", "Buenos Aires"),
    Region("Istanbul landfills", 28.9, 41.1, 25, 1, _WASTE, "Turkey", "Istanbul"),
    Region("Lahore landfills", 74.3, 31.5, 20, 1, _WASTE, "Pakistan", "Punjab"),
    Region("Vancouver landfills", -123.0, 49.2, 20, 0.5, _WASTE, "Canada", "British Columbia"),
    Region("Turkmenistan west", 54.2, 38.9, 60, 5, _OG, "Turkmenistan", "Balkan"),
    Region("Mangystau", 52.8, 43.3, 50, 2, _OG, "Kazakhstan", "Mangystau"),
    Region("Hassi Messaoud", 6.1, 31.7, 50, 3, _OG, "Algeria", "Ouargla"),
    Region("Hassi R'Mel", 3.3, 32.9, 40, 1.5, _OG, "Algeria", "Laghouat"),
    Region("Scotland central belt", -3.7, 55.9, 30, 1, {"1B2": 0.6, "6A": 0.4}, "United Kingdom", "Scotland"),
    Region("Shanxi coal", 112.6, 37.8, 60, 4, _COAL, "China", "Shanxi"),
    Region("Bowen Basin", 148.2, -22.3, 60, 3, _COAL, "Australia", "Queensland"),
    Region("Kuzbass", 86.9, 54.0, 50, 1.5, _COAL, "Russia", "Kemerovo"),
    Region("Upper Silesia", 18.8, 50.0, 25, 1, _COAL, "Poland", "Silesia"),
    Region("Alberta Montney", -119.5, 55.5, 45, 1.5, _OG, "Canada", "Alberta"),
    Region("Iraq south", 47.6, 30.4, 40, 1.5, _OG, "Iraq", "Basra"),
    Region("Four Corners power", -108.5, 36.7, 30, 1, {"1A1": 0.5, "1B1a": 0.2, "1B2": 0.3}, "United States", "New Mexico"),
    Region("Indiana power", -87.0, 38.5, 40, 0.7, {"1A1": 0.8, "1B1a": 0.2}, "United States", "Indiana"),
    Region("Gauteng power", 29.0, -26.0, 50, 0.7, {"1A1": 0.7, "1B1a": 0.3}, "South Africa", "Mpumalanga"),
)
