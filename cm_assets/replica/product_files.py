"""The files each collection family serves (kind, dtype, nodata, condition) and their URL paths.

Families follow the collection id grammar (spec §6.2, §6.4): ``l2b`` (scene retrievals),
``rgb`` (the L2B true-colour sibling), ``vis`` (L3A visualization, including the legacy
``l3a-ch4-mf-v1`` products, which predate the vis/ime split and carry the same keys) and ``ime``
(L3A IME products). Other families (L2C, L4A) have no per-item assets.

Nodata choices (the real tags were not captured, spec §12.14):

* L2B float rasters use ``-9999`` (the sentinel georeader assumes and JPL's tooling used);
* L3A float rasters use NaN (spec §8.3 v3a: "no_data values will be left as nans"); before v3a
  ``plume-concentrations.tif`` uses ``-9999`` like its L2B parent;
* ``ime-cmf-concentrations.tif`` always uses NaN: NaN outside the IME mask is what makes it the
  emission integrand;
* uint8 masks use ``255`` (never a mask value); uint8 imagery uses ``0`` (valid pixels are >= 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

L2B = "l2b"
RGB = "rgb"
VIS = "vis"
IME = "ime"


class Kind(str, Enum):
    """How an asset is stored; decides its media type."""

    COG = "cog"
    PNG = "png"
    GEOJSON = "geojson"
    TEXT = "text"


MEDIA_TYPES = {
    Kind.COG: "image/tiff",
    Kind.PNG: "image/png",
    Kind.GEOJSON: "application/geo+json",
    Kind.TEXT: "text/plain",
}


class Condition(str, Enum):
    """When an optional asset exists for an item."""

    ALWAYS = "always"
    ARTIFACT_MASK = "has_artifact_mask"  # scene column
    UNORTHO = "has_unortho"  # scene column


@dataclass(frozen=True)
class AssetSpec:
    """One asset key of a family."""

    key: str
    kind: Kind
    dtype: str | None = None
    bands: int | None = None
    nodata: float | None = None
    condition: Condition = Condition.ALWAYS


_NAN = float("nan")

FAMILIES: dict[str, tuple[AssetSpec, ...]] = {
    L2B: (
        AssetSpec("cmf.tif", Kind.COG, "float32", 1, -9999.0),
        AssetSpec("uncertainty.tif", Kind.COG, "float32", 1, -9999.0),
        AssetSpec("cmf-unortho.tif", Kind.COG, "float32", 1, -9999.0, Condition.UNORTHO),
        AssetSpec("uncertainty-unortho.tif", Kind.COG, "float32", 1, -9999.0, Condition.UNORTHO),
        AssetSpec("artifact-mask.tif", Kind.COG, "uint8", 1, 255.0, Condition.ARTIFACT_MASK),
        AssetSpec("uas.txt", Kind.TEXT),
    ),
    RGB: (AssetSpec("rgb.tif", Kind.COG, "uint8", 3, 0.0),),
    VIS: (
        AssetSpec("plume.tif", Kind.COG, "uint8", 4, 0.0),
        AssetSpec("plume-concentrations.tif", Kind.COG, "float32", 1, _NAN),
        AssetSpec("rgb.tif", Kind.COG, "uint8", 3, 0.0),
        AssetSpec("plume-outline.geojson", Kind.GEOJSON),
        AssetSpec("plume.png", Kind.PNG),
        AssetSpec("rgb.png", Kind.PNG),
        AssetSpec("plume-rgb.png", Kind.PNG),
    ),
    IME: (
        AssetSpec("ime-cmf-concentrations.tif", Kind.COG, "float32", 1, _NAN),
        AssetSpec("ime-cmf-mask.tif", Kind.COG, "uint8", 1, 255.0),
        AssetSpec("ime-cmf-outline.geojson", Kind.GEOJSON),
        AssetSpec("ime-cmf-concentrations.png", Kind.PNG),
        AssetSpec("ime-cmf-mask.png", Kind.PNG),
    ),
}

LEGACY_NODATA = -9999.0
_NAN_NODATA_VERSIONS = frozenset({"v3a", "v3b", "v3c", "v3d", "v3e"})


def asset_spec(family: str, key: str) -> AssetSpec | None:
    """The spec of ``key`` in ``family``, or None when the family does not serve it."""
    return next((spec for spec in FAMILIES.get(family, ()) if spec.key == key), None)


def concentrations_nodata(version: str) -> float:
    """Nodata of ``plume-concentrations.tif``: NaN from v3a on, -9999 before."""
    return _NAN if version in _NAN_NODATA_VERSIONS else LEGACY_NODATA


def media_type(asset_key: str) -> str:
    """Media type of an asset key, by extension."""
    suffix = asset_key.rsplit(".", 1)[-1].lower()
    kind = {"tif": Kind.COG, "png": Kind.PNG, "geojson": Kind.GEOJSON, "txt": Kind.TEXT}.get(suffix)
    if kind is None:
        raise ValueError(f"no media type for asset key {asset_key!r}")
    return MEDIA_TYPES[kind]


def asset_path(collection: str, item_id: str, asset_key: str) -> str:
    """Asset path per spec §7.1: ``/{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}``."""
    day = item_id[3:11]
    return f"/{collection}/{day[:4]}/{day[4:6]}/{day[6:8]}/{item_id}/{item_id}_{collection}_{asset_key}"
