"""Closed value sets of the API (gases, instruments, sectors, qualities) and collection ids."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum


class _CaseInsensitive(StrEnum):
    @classmethod
    def _missing_(cls, value: object) -> StrEnum | None:
        if isinstance(value, str):
            folded = value.strip().casefold()
            for member in cls:
                if member.value.casefold() == folded or member.name.casefold() == folded:
                    return member
        return None


class Gas(_CaseInsensitive):
    CH4 = "CH4"
    CO2 = "CO2"


class Instrument(_CaseInsensitive):
    """Instrument codes in upstream spelling (``GAO`` upper case, the others lower case)."""

    TAN = "tan"
    EMI = "emi"
    ANG = "ang"
    AV3 = "av3"
    GAO = "GAO"
    SSC = "ssc"

    @property
    def display_name(self) -> str:
        return _INSTRUMENT_NAMES[self]


_INSTRUMENT_NAMES = {
    Instrument.TAN: "Tanager-1",
    Instrument.EMI: "EMIT",
    Instrument.ANG: "AVIRIS-NG",
    Instrument.AV3: "AVIRIS-3",
    Instrument.GAO: "Global Airborne Observatory",
    Instrument.SSC: "SkySat",
}


class Quality(_CaseInsensitive):
    GOOD = "good"
    QUESTIONABLE = "questionable"
    BAD = "bad"


class Sector(_CaseInsensitive):
    """IPCC sector codes. Construction also accepts the CSV's verbose form ``Oil & Gas (1B2)``."""

    OIL_GAS = "1B2"
    COAL_MINING = "1B1a"
    ELECTRICITY = "1A1"
    INDUSTRY = "1A2"
    LIVESTOCK = "4B"
    SOLID_WASTE = "6A"
    WASTE_WATER = "6B"
    OTHER = "other"
    NA = "NA"

    @classmethod
    def _missing_(cls, value: object) -> Sector | None:
        if isinstance(value, str):
            match = _VERBOSE_SECTOR.search(value)
            if match:
                return super()._missing_(match.group(1))  # type: ignore[return-value]
        return super()._missing_(value)  # type: ignore[return-value]


_VERBOSE_SECTOR = re.compile(r"\(([^()]+)\)\s*$")


def parse_sector(value: object) -> Sector | str | None:
    """A sector code from a code or verbose label; unknown codes are kept as plain strings."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return Sector(text)
    except ValueError:
        match = _VERBOSE_SECTOR.search(text)
        return match.group(1).strip() if match else text


class ProductFamily(StrEnum):
    L3A_VIS = "l3a-vis"
    L3A_IME = "l3a-ime"
    L2B = "l2b"
    L2B_RGB = "l2b-rgb"


_VERSION = re.compile(r"^v(\d+)([a-z]*)$")
#: Newest version family registered in STAC as of the 2026-07 audit (spec §6.3).
STAC_RESIDENT_UP_TO = "v3a"


def version_key(version: str) -> tuple[int, str]:
    """Sort key of a version label: ``jpl < v0 < v1 < v002 = v2 < v3 < v3a < ... < v3e``."""
    if version == "jpl":
        return (-1, "")
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"not a version label: {version!r}")
    return (int(match.group(1)), match.group(2))


_COLLECTION = re.compile(
    r"^(?P<level>l\d[a-z]?)"
    r"(?:-(?P<product>vis|ime|rgb|combined))?"
    r"(?:-(?P<gas>ch4|co2))?"
    r"(?:-(?P<cmf>mf[a-z]*))?"  # any cmf type (mf, mfa, mfal, mfm, mfma, and the next one)
    r"(?:-(?P<quick>quick))?"
    r"-(?P<version>jpl|v\d+[a-z]*)$"
)


@dataclass(frozen=True)
class CollectionId:
    """A parsed collection id ``l<level>[-<product>][-<gas>][-<cmf_type>]-<version>``.

    ``is_stac_resident`` says whether the collection's version family is one that the STAC
    registry served when last audited (up to ``v3a``, spec §6.3). It is a hint for choosing the
    lookup path: callers still fall back to URL derivation when STAC has no item.
    """

    level: str
    product: str | None
    gas: str | None
    cmf_type: str | None
    version: str
    quick: bool = False

    @classmethod
    def parse(cls, value: str) -> CollectionId:
        match = _COLLECTION.match(value.strip())
        if not match:
            raise ValueError(f"not a collection id: {value!r}")
        return cls(match["level"], match["product"], match["gas"], match["cmf"], match["version"],
                   bool(match["quick"]))

    @classmethod
    def build(cls, family: ProductFamily, version: str, gas: str = "ch4",
              cmf_type: str = "mfa") -> CollectionId:
        level, _, product = family.value.partition("-")
        if family is ProductFamily.L2B_RGB:
            return cls(level, "rgb", None, None, version)
        return cls(level, product or None, gas.lower(), cmf_type, version)

    def __str__(self) -> str:
        parts = [self.level, self.product, self.gas, self.cmf_type, "quick" if self.quick else None,
                 self.version]
        return "-".join(p for p in parts if p)

    @property
    def family(self) -> str:
        return f"{self.level}-{self.product}" if self.product else self.level

    @property
    def is_stac_resident(self) -> bool:
        try:
            return version_key(self.version) <= version_key(STAC_RESIDENT_UP_TO)
        except ValueError:
            return False

    def with_version(self, version: str) -> CollectionId:
        return replace(self, version=version)

    def with_cmf_type(self, cmf_type: str) -> CollectionId:
        return replace(self, cmf_type=cmf_type)

    def l2b(self) -> CollectionId:
        """The L2B scene collection with this id's gas, cmf type and version."""
        return CollectionId("l2b", None, self.gas, self.cmf_type, self.version)

    def l2b_rgb(self) -> CollectionId:
        return CollectionId("l2b", "rgb", None, None, self.version)
