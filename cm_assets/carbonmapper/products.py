"""Per-plume L3A products (seven lazily fetched, cached assets) and their URL derivation."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from cm_assets.carbonmapper.files import FileIO, geometry_from_geojson
from cm_assets.carbonmapper.enums import CollectionId, Gas, ProductFamily
from cm_assets.carbonmapper.errors import CarbonMapperError, ProductNotAvailable
from cm_assets.carbonmapper.geo import GeoArray, reproject_geometry
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.carbonmapper.urls import AssetRef, AssetUrls, parse_asset_url

#: Product name -> (L3A family, asset key). Rasters become GeoArray, outlines shapely (EPSG:4326).
PLUME_PRODUCTS: dict[str, tuple[ProductFamily, str]] = {
    "mask": (ProductFamily.L3A_VIS, "plume.tif"),
    "concentrations": (ProductFamily.L3A_VIS, "plume-concentrations.tif"),
    "ime_concentrations": (ProductFamily.L3A_IME, "ime-cmf-concentrations.tif"),
    "ime_mask": (ProductFamily.L3A_IME, "ime-cmf-mask.tif"),
    "rgb": (ProductFamily.L3A_VIS, "rgb.tif"),
    "outline": (ProductFamily.L3A_VIS, "plume-outline.geojson"),
    "ime_outline": (ProductFamily.L3A_IME, "ime-cmf-outline.geojson"),
}
RASTER_PRODUCTS = ("mask", "concentrations", "ime_concentrations", "ime_mask", "rgb")


def ime_sibling(vis: CollectionId, cmf_type: str | None = None) -> CollectionId:
    """The L3A IME collection beside a vis collection (``cmf_type`` default: ``mfal`` for CO2)."""
    default = "mfal" if vis.gas == "co2" else vis.cmf_type
    return CollectionId("l3a", "ime", vis.gas, cmf_type or default, vis.version)


def vis_cmf_type(record: PlumeRecord) -> str:
    """The vis cmf type of a record without ``plume_tif``: ``mfa`` for CO2, else its own."""
    return "mfa" if record.gas is Gas.CO2 else (record.cmf_type or "mfa")


def derive_plume_urls(record: PlumeRecord, urls: AssetUrls) -> dict[str, str]:
    """The seven product URLs of a record (spec §7.2), whatever its version letter.

    vis siblings swap the ``plume.tif`` tail; the ime collection comes from ``con_tif`` (CO2
    uses ``mfal`` there, ``mfa`` for vis) and only else from swapping ``vis`` for ``ime``.
    Without ``plume_tif`` the collections are composed from the record's fields.
    """
    vis_url = urls.resolve(record.plume_tif) if record.plume_tif else None
    ime_url = urls.resolve(record.con_tif) if record.con_tif else None
    vis = parse_asset_url(vis_url) if vis_url else None
    ime = parse_asset_url(ime_url) if ime_url else None
    if vis is not None:
        vis_coll = CollectionId.parse(vis.ref.collection)
        base_url = vis_url
    else:
        version = record.emission_version
        if not version:
            raise ProductNotAvailable("mask", None)
        vis_coll = CollectionId.build(ProductFamily.L3A_VIS, version, record.gas.value,
                                      vis_cmf_type(record))
        base_url = urls.proxy(AssetRef(str(vis_coll), record.plume_id, "plume.tif"))
    if ime is not None:
        ime_coll: CollectionId | None = CollectionId.parse(ime.ref.collection)
        ime_base = ime_url
    elif vis_coll.product == "vis":
        ime_coll = ime_sibling(vis_coll, record.cmf_type if record.gas is Gas.CO2 else None)
        ime_base = base_url
    else:
        ime_coll, ime_base = None, None  # legacy l3a-<gas>-mf-v1: no ime sibling
    out: dict[str, str] = {}
    for name, (family, key) in PLUME_PRODUCTS.items():
        if family is ProductFamily.L3A_VIS:
            out[name] = urls.sibling(base_url, AssetRef(str(vis_coll), record.plume_id, key))
        elif ime_coll is not None and ime_base is not None:
            out[name] = urls.sibling(ime_base, AssetRef(str(ime_coll), record.plume_id, key))
    return out


def urls_from_stac_items(vis_item: dict[str, Any], ime_item: dict[str, Any] | None,
                         urls: AssetUrls) -> dict[str, str]:
    """Product URLs from an L3A vis STAC item (and its ime item, else derived from vis)."""
    vis_assets = {k: a["href"] for k, a in (vis_item.get("assets") or {}).items() if "href" in a}
    ime_assets = {k: a["href"] for k, a in ((ime_item or {}).get("assets") or {}).items() if "href" in a}
    plume_tif = vis_assets.get("plume.tif")
    vis_ref = parse_asset_url(urls.resolve(plume_tif)) if plume_tif else None
    out: dict[str, str] = {}
    for name, (family, key) in PLUME_PRODUCTS.items():
        assets = vis_assets if family is ProductFamily.L3A_VIS else ime_assets
        if key in assets:
            out[name] = urls.resolve(assets[key])
        elif vis_ref is not None and family is ProductFamily.L3A_IME:
            ime_coll = ime_sibling(CollectionId.parse(vis_ref.ref.collection))
            out[name] = urls.sibling(str(vis_ref), vis_ref.ref.with_collection(ime_coll).with_key(key))
    return out


class PlumeProducts:
    """The per-plume product set. Nothing is fetched until a product is accessed; then cached.

    Per-plume L3A files are small (KB), so each is fetched whole with the client's transport
    (retries, auth scoped to the API host) and decoded in memory.
    """

    def __init__(self, plume_id: str, urls: dict[str, str], io: FileIO,
                 record: PlumeRecord | None = None) -> None:
        self.plume_id = plume_id
        self.urls = dict(urls)
        self.record = record
        self._io = io
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"PlumeProducts({self.plume_id!r}, products={sorted(self.urls)})"

    @property
    def scene_name(self) -> str:
        return self.plume_id.rsplit("-", 1)[0]

    @property
    def vis_collection(self) -> str | None:
        parsed = parse_asset_url(self.urls.get("mask", ""))
        return parsed.ref.collection if parsed else None

    def raster(self, name: str) -> GeoArray:
        """One raster product by name (see ``RASTER_PRODUCTS``)."""
        if name not in RASTER_PRODUCTS:
            raise KeyError(f"not a raster product: {name!r}")
        if name not in self._cache:
            self._cache[name] = GeoArray.from_bytes(self._io.fetch(name, self.urls.get(name)))
        return self._cache[name]

    @property
    def mask(self) -> GeoArray:
        """``plume.tif`` (RGBA; band 4 = plume mask)."""
        return self.raster("mask")

    @property
    def concentrations(self) -> GeoArray:
        return self.raster("concentrations")

    @property
    def ime_concentrations(self) -> GeoArray:
        return self.raster("ime_concentrations")

    @property
    def ime_mask(self) -> GeoArray:
        return self.raster("ime_mask")

    @property
    def rgb(self) -> GeoArray:
        return self.raster("rgb")

    @property
    def outline(self) -> BaseGeometry:
        """The plume polygon (EPSG:4326); vectorised from the mask alpha if the file fails."""
        if "outline" not in self._cache:
            try:
                geom = geometry_from_geojson(self._io.fetch_json("outline", self.urls.get("outline")))
            except (CarbonMapperError, ValueError, KeyError, TypeError) as exc:
                warnings.warn(f"{self.plume_id}: outline unavailable ({exc}); vectorising the mask alpha",
                              stacklevel=2)
                geom = alpha_outline(self.mask)
            self._cache["outline"] = geom
        return self._cache["outline"]

    @property
    def ime_outline(self) -> BaseGeometry | None:
        """The tighter IME polygon (EPSG:4326), or None when it cannot be fetched or parsed."""
        if "ime_outline" not in self._cache:
            try:
                geom = geometry_from_geojson(self._io.fetch_json("ime_outline", self.urls.get("ime_outline")))
            except (CarbonMapperError, ValueError, KeyError, TypeError):
                geom = None
            self._cache["ime_outline"] = geom
        return self._cache["ime_outline"]

    def save(self, name: str, path: str | os.PathLike[str]) -> Path:
        """Download one product's file unchanged to ``path`` (atomic)."""
        if name not in PLUME_PRODUCTS:
            raise KeyError(f"unknown product: {name!r}")
        return self._io.save(name, self.urls.get(name), path)


def alpha_outline(mask: GeoArray) -> BaseGeometry:
    """Polygon of the non-zero alpha band of an RGBA mask, in EPSG:4326."""
    alpha = mask.values[-1]
    valid = (alpha > 0) & ~np.isnan(alpha) if alpha.dtype.kind == "f" else alpha > 0
    polygons = mask.polygons(valid)
    if not polygons:
        raise ProductNotAvailable("outline", None)
    return reproject_geometry(unary_union(polygons), mask.crs, "EPSG:4326")
