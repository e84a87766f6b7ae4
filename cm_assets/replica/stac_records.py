"""STAC 1.0 collections and items of the STAC-resident collections.

STAC asset hrefs use the Bearer proxy form ``{api_base}/catalog/asset/...``;
``properties.platform`` is the instrument code (``"tan"``), as seen live.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import shapely

from cm_assets.replica import versions
from cm_assets.replica.plume_window import plume_bounds
from cm_assets.replica.product_files import asset_path
from cm_assets.replica.query import Interval, to_ns
from cm_assets.replica.timestamps import iso
from cm_assets.replica.world import World

L2B_ASSETS = ("cmf.tif", "cmf-unortho.tif", "uncertainty.tif", "uncertainty-unortho.tif", "artifact-mask.tif", "uas.txt")
VIS_ASSETS = ("plume.tif", "plume-concentrations.tif", "plume-outline.geojson", "plume-rgb.png", "rgb.tif", "plume.png", "rgb.png")
IME_ASSETS = ("ime-cmf-concentrations.png", "ime-cmf-concentrations.tif", "ime-cmf-mask.png", "ime-cmf-mask.tif", "ime-cmf-outline.geojson")


def _links(api_base: str, collection_id: str, item_id: str | None = None) -> list[dict]:
    root = f"{api_base}/stac/"
    coll = f"{api_base}/stac/collections/{collection_id}"
    links = [{"rel": "root", "href": root, "type": "application/json"}]
    if item_id is None:
        links += [
            {"rel": "self", "href": coll, "type": "application/json"},
            {"rel": "parent", "href": root, "type": "application/json"},
            {"rel": "items", "href": f"{coll}/items", "type": "application/geo+json"},
        ]
    else:
        links += [
            {"rel": "self", "href": f"{coll}/items/{item_id}", "type": "application/geo+json"},
            {"rel": "parent", "href": coll, "type": "application/json"},
            {"rel": "collection", "href": coll, "type": "application/json"},
        ]
    return links


def stac_collection(world: World, collection_id: str, api_base: str) -> dict:
    """STAC 1.0 Collection for one of ``world.collections``."""
    info = world.collections[collection_id]
    start, end = info["temporal_extent"]
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "title": collection_id,
        "description": f"Carbon Mapper {info['level'].upper()} {info['family']} products, version {info['version']}",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")]]},
        },
        "links": _links(api_base, collection_id),
    }


def _asset(api_base: str, collection: str, item_id: str, key: str) -> dict:
    media = {
        "tif": "image/tiff; application=geotiff; profile=cloud-optimized", "png": "image/png",
        "geojson": "application/geo+json", "txt": "text/plain",
    }[key.rsplit(".", 1)[1]]
    return {"href": f"{api_base}/catalog/asset{asset_path(collection, item_id, key)}", "type": media, "roles": ["data"]}


def _feature(item_id: str, collection_id: str, bbox: list[float], geometry: dict, properties: dict, assets: dict, api_base: str) -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": collection_id,
        "bbox": bbox, "geometry": geometry, "properties": properties, "assets": assets,
        "links": _links(api_base, collection_id, item_id),
    }


def stac_item(world: World, row: int, collection_id: str, api_base: str) -> dict:
    """STAC item of a scene row (L2B, L2B-RGB) or a plume row (L3A vis/ime) in ``collection_id``."""
    info = world.collections[collection_id]
    p, s = world.columns()
    family = info["family"]
    if family in ("l2b", "rgb"):
        j = row
        name = s["name"][j]
        if family == "rgb":
            keys = ["rgb.tif"]
        else:
            keys = [k for k in L2B_ASSETS if (k != "artifact-mask.tif" or s["has_artifact_mask"][j])
                    and ("unortho" not in k or s["has_unortho"][j])]
        props = {
            "datetime": iso(s["timestamp"][j], True), "platform": s["instrument"][j],
            "instruments": [s["instrument"][j]], "version": info["version"], "gsd": float(s["gsd"][j]),
            "view:off_nadir": float(s["off_nadir"][j]), "proj:epsg": int(s["epsg"][j]),
        }
        geometry = shapely.geometry.mapping(shapely.from_wkt(s["footprint_wkt"][j]))
        bbox = [float(s["west"][j]), float(s["south"][j]), float(s["east"][j]), float(s["north"][j])]
        assets = {k: _asset(api_base, collection_id, name, k) for k in keys}
        return _feature(name, collection_id, bbox, json.loads(json.dumps(geometry)), props, assets, api_base)
    i = row
    pid = p["plume_id"][i]
    j = int(p["scene_idx"][i])
    missing = set(p["missing_assets"][i])
    keys = [k for k in (VIS_ASSETS if family == "vis" else IME_ASSETS) if k not in missing]
    bbox = plume_bounds(world, i)
    geometry = shapely.geometry.mapping(shapely.box(*bbox))
    props = {
        "datetime": iso(s["timestamp"][j], True), "platform": s["instrument"][j],
        "instruments": [s["instrument"][j]], "version": info["version"], "gsd": float(s["gsd"][j]),
        "view:off_nadir": float(s["off_nadir"][j]), "proj:epsg": int(s["epsg"][j]),
        "cm:gas": p["gas"][i], "cm:sector": p["sector"][i],
    }
    assets = {k: _asset(api_base, collection_id, pid, k) for k in keys}
    return _feature(pid, collection_id, bbox, json.loads(json.dumps(geometry)), props, assets, api_base)


def _scene_collections(world: World, gas: str) -> np.ndarray:
    _, s = world.columns()
    out = np.array([versions.l2b_collection(gas, v, i) for v, i in zip(s["l2b_version"], s["instrument"])], dtype=object)
    if gas == "CO2":
        out[~world.arrays()["scene_has_co2"]] = None
    return out


def stac_items(
    world: World,
    collection_id: str,
    now: datetime,
    bbox: tuple[float, float, float, float] | None = None,
    datetime: Interval | None = None,
    ids: tuple[str, ...] | None = None,
) -> list[tuple[str, int]]:
    """(kind, row) of the items of a STAC-resident collection visible at ``now``, oldest first.

    ``kind`` is the collection family: ``l2b`` / ``rgb`` (scene rows) or ``vis`` / ``ime``
    (plume rows). Collections outside STAC yield nothing.
    """
    info = world.collections.get(collection_id)
    if info is None or not info["stac_resident"]:
        return []
    now_ns = to_ns(now)
    a = world.arrays()
    p, s = world.columns()
    family = info["family"]
    if family in ("l2b", "rgb"):
        if family == "rgb":
            member = np.array([versions.l2b_rgb_collection(v) for v in s["l2b_version"]], dtype=object) == collection_id
        else:
            member = _scene_collections(world, info["gas"]) == collection_id
        mask = member & (a["l2b_published"] <= now_ns)
        ts, names = a["scene_ts"], s["name"]
        b = a["scene_bounds"]
        west, south, east, north = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    else:
        column = "l3a_vis_collection" if family == "vis" else "l3a_ime_collection"
        mask = (p[column] == collection_id) & (a["published"] <= now_ns)
        ts, names = a["ts"], p["plume_id"]
        west = east = a["lon"]
        south = north = a["lat"]
    if bbox is not None:
        w, so, e, n = bbox
        mask &= (west <= e) & (east >= w) & (south <= n) & (north >= so)
    if datetime is not None:
        start, end = datetime
        if start is not None:
            mask &= ts >= to_ns(start)
        if end is not None:
            mask &= ts <= to_ns(end)
    if ids is not None:
        mask &= np.isin(names, list(ids))
    rows = np.nonzero(mask)[0]
    rows = rows[np.argsort(ts[rows], kind="stable")]
    return [(family, int(r)) for r in rows]
