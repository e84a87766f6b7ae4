"""Product versions by observation era, collection ids and processing-software labels.

New versions apply only to new data (spec §8.3), so every plume's versions follow from its
observation time. Era boundaries used here (observation time, UTC):

============================  =========  ==================  ==========================
observed                      L3A        L2B parent          note
============================  =========  ==================  ==========================
< 2019-01-01, AVIRIS-NG       ``jpl``    ``l2b-ch4-mf-v1``   legacy ``l3a-ch4-mf-v1``, no IME
< 2023-03-01                  ``v1``     ``l2b-ch4-mf(a)-v1`` legacy ``l3a-ch4-mf-v1``, no IME
2023-03-01 .. 2023-10-25      ``v3``     ``mfa-v3``
2023-10-25 .. 2025-07-11      ``v3a``    ``mfa-v3``          L2B v3a extent starts 2025-07-11
2025-07-11 .. 2025-12-01      ``v3a``    ``mfa-v3a``
2025-12-01 .. 2026-01-01      ``v3b``    ``mfa-v3a``         no CH4 v3b L2B exists
2026-01-01 .. 2026-03-31      ``v3c``    ``mfa-v3c``         some March plumes re-versioned v3d
2026-03-31 .. 2026-06-01      ``v3d``    ``mfa-v3d``
>= 2026-06-01                 ``v3e``    ``mfa-v3e``
============================  =========  ==================  ==========================

RGB siblings are ``l2b-rgb-v2`` for L2B versions before v3a (the visualization-only v2
release), else ``l2b-rgb-{version}``. CO2 detections start with v3: vis and L2B use ``mfa``,
IME uses ``mfal`` (spec §6.2). STAC holds only families up to v3a (spec §6.3, 2026-07 state);
the L2C detection collections are not STAC-served by the replica.
"""

from __future__ import annotations

import numpy as np

STAC_VERSIONS = frozenset({"jpl", "v0", "v1", "v2", "v3", "v3a"})
VERSION_ORDER = ("jpl", "v0", "v1", "v2", "v3", "v3a", "v3b", "v3c", "v3d", "v3e")
SOFTWARE = {
    "jpl": "jpl-ang: 2.3",
    "v1": "cmpro: 0.9.{p}",
    "v3": "cmpro: 3.12.{p}",
    "v3a": "cmpro: 3.41.{p}",
    "v3b": "cmpro: 3.44.{p}",
    "v3c": "cmpro: 3.56.{p}",
    "v3d": "cmpro: 3.73.{p}",
    "v3e": "cmpro: 3.82.{p}",
}
_BOUNDS = np.array(
    [
        "2023-03-01", "2023-10-25", "2025-07-11", "2025-12-01",
        "2026-01-01", "2026-03-31", "2026-06-01",
    ],
    dtype="datetime64[ns]",
)
_L3A_BY_ERA = np.array(["v1", "v3", "v3a", "v3a", "v3b", "v3c", "v3d", "v3e"])
_L2B_BY_ERA = np.array(["v1", "v3", "v3", "v3a", "v3a", "v3c", "v3d", "v3e"])
JPL_END = np.datetime64("2019-01-01", "ns")
REVERSION_START = np.datetime64("2026-03-01", "ns")
CO2_START = _BOUNDS[0]


def era_versions(observed: np.ndarray, instrument: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L3A emission_version, L2B version) for observation times (datetime64[ns])."""
    era = np.searchsorted(_BOUNDS, observed, side="right")
    l3a = _L3A_BY_ERA[era].astype(object)
    l2b = _L2B_BY_ERA[era].astype(object)
    jpl = (instrument == "ang") & (observed < JPL_END)
    l3a[jpl] = "jpl"
    return l3a, l2b


def is_legacy(version: str) -> bool:
    """Legacy L3A products (before the vis/ime split) have no IME sibling."""
    return version in ("jpl", "v1")


def cmf_types(gas: str, version: str) -> tuple[str, str]:
    """(vis/L2B cmf type, IME cmf type) for a gas and version."""
    if gas == "CO2":
        return "mfa", "mfal"
    return ("mf", "mf") if is_legacy(version) else ("mfa", "mfa")


def l3a_collections(gas: str, version: str) -> tuple[str, str | None]:
    """(L3A vis collection, L3A ime collection or None) of a plume."""
    g = gas.lower()
    vis_cmf, ime_cmf = cmf_types(gas, version)
    if is_legacy(version):
        return f"l3a-{g}-mf-v1", None
    return f"l3a-vis-{g}-{vis_cmf}-{version}", f"l3a-ime-{g}-{ime_cmf}-{version}"


def l2b_collection(gas: str, version: str, instrument: str, ch4_cmf: str | None = None) -> str:
    """L2B retrieval collection of a scene for ``gas`` at L2B ``version`` (``ch4_cmf``: a CH4
    cmf type other than ``mfa``, set by the replica's drift switch)."""
    if gas == "CO2":
        return f"l2b-co2-mfa-{version}"
    if version == "v1":
        return "l2b-ch4-mf-v1" if instrument == "ang" else "l2b-ch4-mfa-v1"
    return f"l2b-ch4-{ch4_cmf or 'mfa'}-{version}"


def l2b_rgb_collection(version: str) -> str:
    """RGB sibling collection of an L2B version (``l2b-rgb-v2`` before v3a)."""
    return "l2b-rgb-v2" if version in ("jpl", "v0", "v1", "v2", "v3") else f"l2b-rgb-{version}"


def l2c_collection(gas: str) -> str:
    """The L2C detection collection named by a record's ``collection`` field."""
    return f"l2c-{gas.lower()}-v0"


def newest_version() -> str:
    """The newest version family (target of re-processing)."""
    return VERSION_ORDER[-1]


def software(version: str, patch: int) -> str:
    """``processing_software`` label consistent with ``version``."""
    return SOFTWARE[version].format(p=patch)


def parse_collection(collection_id: str) -> dict[str, str | None]:
    """Split a collection id into level, family, gas, cmf_type and version."""
    parts = collection_id.split("-")
    level = parts[0]
    if level == "l2c":
        return {"level": "l2c", "family": "l2c", "gas": parts[1].upper(), "cmf_type": None, "version": parts[2]}
    if parts[1] == "rgb":
        return {"level": level, "family": "rgb", "gas": None, "cmf_type": None, "version": parts[2]}
    if level == "l3a" and parts[1] in ("vis", "ime"):
        family, gas, cmf, version = parts[1], parts[2], parts[3], parts[4]
    elif level == "l3a":
        family, gas, cmf, version = "vis", parts[1], parts[2], parts[3]
    else:
        family, gas, cmf, version = "l2b", parts[1], parts[2], parts[3]
    return {"level": level, "family": family, "gas": gas.upper(), "cmf_type": cmf, "version": version}
