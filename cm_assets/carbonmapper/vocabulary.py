"""What cm_assets knows of the API's vocabulary: record fields, version labels, cmf types,
collection families and URL-bearing fields. The pipeline's drift checks report anything a record
carries beyond this; update it when a change upstream has been looked at and handled."""

from __future__ import annotations

from cm_assets.carbonmapper.enums import CollectionId
from cm_assets.carbonmapper.models import PlumeRecord

#: Fields of a plume record (``PlumeAnnotatedOut``, spec §4.3).
RECORD_FIELDS: frozenset[str] = frozenset(PlumeRecord.model_fields)
#: ``emission_version`` / collection version labels released so far (spec §6.3).
KNOWN_VERSIONS: tuple[str, ...] = ("jpl", "v0", "v1", "v2", "v3", "v3a", "v3b", "v3c", "v3d", "v3e")
#: cmf types of collection ids (``mfm`` / ``mfma`` arrived with v3e).
KNOWN_CMF_TYPES: frozenset[str] = frozenset({"mf", "mfa", "mfal", "mfm", "mfma"})
#: Collection families (level and product) of asset URLs.
KNOWN_FAMILIES: frozenset[str] = frozenset({"l2b", "l2b-rgb", "l2c", "l3a", "l3a-vis", "l3a-ime"})
#: Record fields holding asset URLs (``{base}/{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}``).
URL_FIELDS: tuple[str, ...] = ("plume_tif", "con_tif", "plume_png", "rgb_png", "plume_rgb_png")


def unknown_parts(collection: CollectionId) -> list[str]:
    """What in a parsed collection id is outside the known vocabulary (empty: all known)."""
    out = []
    if collection.version not in KNOWN_VERSIONS:
        out.append(f"version {collection.version}")
    if collection.cmf_type is not None and collection.cmf_type not in KNOWN_CMF_TYPES:
        out.append(f"cmf type {collection.cmf_type}")
    if collection.family not in KNOWN_FAMILIES:
        out.append(f"family {collection.family}")
    return out
