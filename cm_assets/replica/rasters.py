"""The replica's asset files, generated lazily and cached on disk: ``RasterStore``.

``resolve(collection, item_id, asset_key, now)`` returns a file under
``cache_dir/{collection}/{item_id}/{asset_key}``, generating it on first use (written to a
temporary name, then renamed; one lock per file stripe, so concurrent requests of a threaded
server generate it once). Everything is deterministic from the world seed and row ids: the same
world gives byte-identical files.

Checks, in order: unknown collection (404), item not in the collection or not yet published at
``now`` (403), then an asset key the family does not serve, or an optional asset this item lacks
(the plume's ``missing_assets``, ``artifact-mask.tif`` without ``has_artifact_mask``, the
``-unortho`` pair without ``has_unortho``) (404).

Products (spec §8.4; field physics in ``field_solver``; keys, dtypes and nodata in
``product_files``):

* L2B (item = scene): ``cmf.tif`` and ``uncertainty.tif`` on the scene's UTM grid;
  ``*-unortho.tif`` hold the same arrays in a raw sensor frame — lines in acquisition order, so
  the ortho grid flipped vertically — with no CRS and no geotransform (pixel coordinates);
  ``artifact-mask.tif``; ``uas.txt`` (tab-separated unit absorption spectrum over the
  instrument's retrieval window).
* L2B RGB: ``rgb.tif`` on the same grid.
* L3A vis (item = plume): 101×100 windows around the origin (``plume.tif`` RGBA with alpha = the
  broad mask, ``rgb.tif``), ``plume-concentrations.tif`` over the broad mask's bounding box
  (+3 px), ``plume-outline.geojson`` and quicklook PNGs.
* L3A ime: a square window around the IME mask (+1 px) holding ``ime-cmf-concentrations.tif``
  (NaN outside the mask) and ``ime-cmf-mask.tif``, the outline and PNGs.

All crops come from the same cached scene field as the L2B, so L2B and L3A agree pixel for pixel.
GeoTIFFs are COGs (GDAL ``COG`` driver, 256 px tiles, DEFLATE, overviews when larger than a
tile, nodata tag set). Outlines are GeoJSON Features in lon/lat (EPSG:4326), coordinates
rounded to 1e-7 degrees. PNGs are not georeferenced and never exceed 115 px a side (decimated by
an integer stride when needed).

Reprocessing (``World.reprocess``) changes a plume's ``q_true`` and L3A collection: the new L3A
files are generated from a field synthesized with the new rate (the in-memory field cache is
keyed by the scene's plume parameters), while an already cached L2B file is kept, as a real L2B
is not reprocessed with its L3A products.
"""

from __future__ import annotations

import functools
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import Transformer
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import shapes

from cm_assets.replica import field_solver, retrieval_noise, spectra, terrain, versions
from cm_assets.replica.atomic import write_atomically
from cm_assets.replica.product_files import (
    IME, L2B, RGB, VIS, AssetSpec, Condition, asset_spec, concentrations_nodata, media_type,
)
from cm_assets.replica.field_solver import PlumeSolution, PlumeSpec, SceneField
from cm_assets.replica.grid import FEATURES_LOCK, Grid, derive_seed, read_window
from cm_assets.replica.terrain import Site

PNG_MAX_SIDE = 115
CONCENTRATION_PAD_PX = 3
IME_PAD_PX = 1
_LOCK_STRIPES = 64
@functools.cache
def _colormap() -> np.ndarray:
    """The plasma colormap as a (256, 3) uint8 table (matplotlib is imported on first use only)."""
    import matplotlib

    return (matplotlib.colormaps["plasma"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype("uint8")


class AssetError(Exception):
    """An asset that cannot be served; ``status`` is the HTTP status to answer with."""

    status: int = 500


class UnknownCollection(AssetError):
    status = 404


class NotInCollection(AssetError):
    """The collection exists but does not hold the item (or not yet at ``now``)."""

    status = 403


class UnknownAsset(AssetError):
    """Not an asset key of the family, or an optional asset this item lacks."""

    status = 404


@dataclass(frozen=True)
class _Item:
    """A resolved (collection, item): the scene row, the plume row for L3A, the gas."""

    family: str
    collection: str
    version: str
    scene: int
    plume: int | None
    gas: str | None


class RasterStore:
    """Lazily generated, disk-cached asset files of one world."""

    def __init__(self, world: Any, cache_dir: Path, field_cache_size: int = 4) -> None:
        self._world = world
        self._cache_dir = Path(cache_dir)
        self._seed = int(world.config.seed)
        scene_of = world.plumes["scene_idx"].to_numpy()
        self._scene_plumes = pd.Series(np.arange(len(scene_of))).groupby(scene_of).agg(list).to_dict()
        self._fields: OrderedDict[tuple, SceneField] = OrderedDict()
        self._field_cache_size = field_cache_size
        self._fields_lock = threading.Lock()
        self._file_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._field_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    # ------------------------------------------------------------------ public

    @staticmethod
    def media_type(asset_key: str) -> str:
        """Content type of an asset key."""
        return media_type(asset_key)

    def resolve(self, collection: str, item_id: str, asset_key: str, now: datetime) -> Path:
        """The file of ``asset_key`` of ``item_id`` in ``collection``, generated on first use."""
        item = self._item(collection, item_id, _utc(now))
        spec = asset_spec(item.family, asset_key)
        if spec is None:
            raise UnknownAsset(f"{collection} has no asset {asset_key!r}")
        self._check_optional(item, item_id, spec)
        path = self._cache_dir / collection / item_id / asset_key
        if not path.exists():
            with self._file_locks[hash(path) % _LOCK_STRIPES]:
                if not path.exists():
                    write_atomically(path, lambda tmp: self._build(item, spec, tmp))
        return path

    def scene_field(self, scene: int, gas: str) -> SceneField:
        """The scene's synthesized retrieval for ``gas`` (small in-memory LRU)."""
        rows = [r for r in self._scene_plumes.get(scene, []) if self._plume(r)["gas"] == gas]
        plume_specs = tuple(self._plume_spec(r) for r in rows)
        key = (scene, gas, plume_specs)
        with self._field_locks[hash(key) % _LOCK_STRIPES]:
            with self._fields_lock:
                if key in self._fields:
                    self._fields.move_to_end(key)
                    return self._fields[key]
            row = self._scene(scene)
            grid = _grid(row)
            coverage = retrieval_noise.footprint_valid(grid, row["footprint_wkt"]) & retrieval_noise.ragged_edges(
                grid, derive_seed(self._seed, row["name"], "edges"))
            origin_cols = [grid.pixel(*self._utm(r))[1] for r in self._scene_plumes.get(scene, [])]
            failed = retrieval_noise.failed_columns(
                grid.width, origin_cols, np.random.default_rng(derive_seed(self._seed, row["name"], "columns")))
            coverage[:, failed] = False
            built = field_solver.synthesize_field(
                grid, gas, row["instrument"], coverage, plume_specs,
                derive_seed(self._seed, row["name"], gas, "noise"))
            with self._fields_lock:
                self._fields[key] = built
                while len(self._fields) > self._field_cache_size:
                    self._fields.popitem(last=False)
            return built

    # ------------------------------------------------------------------ lookups

    def _scene(self, i: int) -> pd.Series:
        return self._world.scenes.iloc[i]

    def _plume(self, i: int) -> pd.Series:
        return self._world.plumes.iloc[i]

    def _utm(self, i: int) -> tuple[float, float]:
        row = self._plume(i)
        return float(row["x"]), float(row["y"])

    def _plume_spec(self, i: int) -> PlumeSpec:
        row = self._plume(i)
        wind = float(row["wind_speed_avg_auto"])
        return PlumeSpec(
            plume_id=row["plume_id"], x=float(row["x"]), y=float(row["y"]), q_kg_h=float(row["q_true"]),
            wind_speed=wind if np.isfinite(wind) else field_solver.FALLBACK_WIND_M_S,
            wind_from_deg=float(row["wind_direction_avg_auto"]),
            seed=derive_seed(self._seed, int(row["plume_seed"]), "plume"))

    def _item(self, collection: str, item_id: str, now: pd.Timestamp) -> _Item:
        info = self._world.collections.get(collection)
        if info is None:
            raise UnknownCollection(f"unknown collection {collection!r}")
        family = info["family"]
        if family in (VIS, IME):
            i = self._world.plume_index(item_id)
            row = self._plume(i) if i is not None else None
            column = "l3a_vis_collection" if family == VIS else "l3a_ime_collection"
            if row is None or row["plume_id"] != item_id or row[column] != collection:
                raise NotInCollection(f"{collection} holds no plume {item_id!r}")
            if not row["published_at"] <= now:
                raise NotInCollection(f"{item_id} is not published in {collection} at {now.isoformat()}")
            return _Item(family, collection, info["version"], int(row["scene_idx"]), i, row["gas"])
        if family in (L2B, RGB):
            s = self._world.scene_index(item_id)
            row = self._scene(s) if s is not None else None
            if row is None or row["name"] != item_id or collection not in _scene_collections(row):
                raise NotInCollection(f"{collection} holds no scene {item_id!r}")
            published = row["l2b_published_at"]
            if pd.isna(published) or not published <= now:
                raise NotInCollection(f"{item_id} is not published in {collection} at {now.isoformat()}")
            return _Item(family, collection, info["version"], s, None, info["gas"])
        raise UnknownAsset(f"collection {collection} has no per-item assets")

    def _check_optional(self, item: _Item, item_id: str, spec: AssetSpec) -> None:
        if item.plume is not None and spec.key in tuple(self._plume(item.plume)["missing_assets"]):
            raise UnknownAsset(f"{item_id} has no {spec.key}")
        if spec.condition is not Condition.ALWAYS and not bool(self._scene(item.scene)[spec.condition.value]):
            raise UnknownAsset(f"{item_id} has no {spec.key}")

    # ------------------------------------------------------------------ building

    def _build(self, item: _Item, spec: AssetSpec, out: Path) -> None:
        builders: dict[str, Callable[[_Item, AssetSpec, Path], None]] = {
            L2B: self._build_l2b, RGB: self._build_scene_rgb, VIS: self._build_vis, IME: self._build_ime,
        }
        builders[item.family](item, spec, out)

    def _build_l2b(self, item: _Item, spec: AssetSpec, out: Path) -> None:
        row = self._scene(item.scene)
        if spec.key == "uas.txt":
            out.write_text(spectra.unit_absorption_spectrum(item.gas, row["instrument"]), encoding="utf-8")
            return
        scene = self.scene_field(item.scene, item.gas)
        grid = scene.grid
        if spec.key == "artifact-mask.tif":
            flags = retrieval_noise.artifact_mask(grid, derive_seed(self._seed, row["name"], item.gas, "artifacts"))
            flags[~scene.valid] = int(spec.nodata)
            write_cog(out, flags[None], spec, grid.epsg, grid.transform, "nearest")
            return
        if spec.key.startswith("cmf"):
            data = scene.values
        else:
            data = field_solver.uncertainty(scene, derive_seed(self._seed, row["name"], item.gas, "uncertainty"))
        data = np.where(scene.valid, data, np.float32(spec.nodata)).astype("float32")
        if spec.key.endswith("-unortho.tif"):
            write_cog(out, np.flipud(data)[None], spec, None, None, "average")
        else:
            write_cog(out, data[None], spec, grid.epsg, grid.transform, "average")

    def _build_scene_rgb(self, item: _Item, spec: AssetSpec, out: Path) -> None:
        row = self._scene(item.scene)
        grid = _grid(row)
        rgb = self._rgb(item.scene, grid, 0, 0, grid.height, grid.width)
        write_cog(out, rgb, spec, grid.epsg, grid.transform, "average")

    def _rgb(self, scene: int, grid: Grid, r0: int, c0: int, height: int, width: int) -> np.ndarray:
        """True colour of a window of a scene, 0 outside its footprint."""
        row = self._scene(scene)
        sites = []
        for i in self._scene_plumes.get(scene, []):
            p = self._plume(i)
            sites.append(Site((grid.y0 - p["y"]) / grid.gsd - 0.5, (p["x"] - grid.x0) / grid.gsd - 0.5, p["sector"]))
        rgb = terrain.terrain_rgb(grid, r0, c0, height, width, sites,
                                    derive_seed(self._seed, row["name"], "rgb"))
        window_grid = Grid(grid.epsg, grid.x0 + c0 * grid.gsd, grid.y0 - r0 * grid.gsd, grid.gsd, width, height)
        inside = retrieval_noise.footprint_valid(window_grid, row["footprint_wkt"])
        inside &= read_window(
            retrieval_noise.ragged_edges(grid, derive_seed(self._seed, row["name"], "edges")),
            r0, c0, height, width, False)
        return np.where(inside[None], rgb, 0).astype("uint8")

    def _solution(self, item: _Item) -> tuple[SceneField, PlumeSolution]:
        scene = self.scene_field(item.scene, item.gas)
        return scene, scene.plumes[self._plume(item.plume)["plume_id"]]

    def _build_vis(self, item: _Item, spec: AssetSpec, out: Path) -> None:
        scene, sol = self._solution(item)
        grid = scene.grid
        r0, c0 = sol.vis_origin
        h, w = field_solver.VIS_SHAPE
        values = read_window(np.where(scene.valid, scene.values, np.nan), r0, c0, h, w, np.nan)
        broad = sol.broad_mask.data
        rgba = _colorize(values, broad)
        box = _bbox(broad, CONCENTRATION_PAD_PX, (h, w))
        if spec.key == "plume.tif":
            write_cog(out, rgba, spec, grid.epsg, grid.window_transform(r0, c0), "nearest", alpha=True)
        elif spec.key == "plume-concentrations.tif":
            nodata = concentrations_nodata(item.version)
            crop = values[box[0]:box[2], box[1]:box[3]]
            crop = np.where(np.isfinite(crop), crop, nodata).astype("float32")
            write_cog(out, crop[None], spec, grid.epsg, grid.window_transform(r0 + box[0], c0 + box[1]),
                      "average", nodata=nodata)
        elif spec.key == "rgb.tif":
            write_cog(out, self._rgb(item.scene, grid, r0, c0, h, w), spec, grid.epsg,
                      grid.window_transform(r0, c0), "average")
        elif spec.key == "plume-outline.geojson":
            _write_outline(out, broad, grid, r0, c0, self._plume(item.plume)["plume_id"])
        elif spec.key == "plume.png":
            _write_png(out, rgba[:, box[0]:box[2], box[1]:box[3]])
        elif spec.key == "rgb.png":
            _write_png(out, self._rgb(item.scene, grid, r0, c0, h, w))
        else:  # plume-rgb.png
            rgb = self._rgb(item.scene, grid, r0, c0, h, w).astype("float64")
            alpha = rgba[3:4] / 255.0 * 0.85
            _write_png(out, np.rint(rgb * (1 - alpha) + rgba[:3] * alpha).astype("uint8"))

    def _build_ime(self, item: _Item, spec: AssetSpec, out: Path) -> None:
        scene, sol = self._solution(item)
        grid = scene.grid
        mask_patch = sol.ime_mask
        top, left, bottom, right = _bbox(mask_patch.data, 0, mask_patch.data.shape)
        side = max(bottom - top, right - left) + 2 * IME_PAD_PX
        r0 = mask_patch.row + (top + bottom - side) // 2
        c0 = mask_patch.col + (left + right - side) // 2
        mask = mask_patch.window(r0, c0, side, side, False)
        values = read_window(scene.values, r0, c0, side, side, np.nan)
        ime_values = np.where(mask, values, np.nan).astype("float32")
        transform = grid.window_transform(r0, c0)
        if spec.key == "ime-cmf-concentrations.tif":
            write_cog(out, ime_values[None], spec, grid.epsg, transform, "average")
        elif spec.key == "ime-cmf-mask.tif":
            write_cog(out, mask.astype("uint8")[None], spec, grid.epsg, transform, "nearest")
        elif spec.key == "ime-cmf-outline.geojson":
            _write_outline(out, mask, grid, r0, c0, self._plume(item.plume)["plume_id"])
        elif spec.key == "ime-cmf-concentrations.png":
            _write_png(out, _colorize(ime_values, mask))
        else:  # ime-cmf-mask.png
            _write_png(out, np.repeat((mask.astype("uint8") * 255)[None], 3, axis=0))


# ---------------------------------------------------------------------- helpers


def _utc(now: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(now)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def _grid(row: pd.Series) -> Grid:
    return Grid(int(row["epsg"]), float(row["x0"]), float(row["y0"]), float(row["gsd"]),
                int(row["width"]), int(row["height"]))


def _scene_collections(row: pd.Series) -> set[str]:
    """The L2B and L2B-RGB collections holding a scene."""
    version, instrument = row["l2b_version"], row["instrument"]
    held = {versions.l2b_collection(gas, version, instrument, row.get("l2b_cmf_type")) for gas in row["gases"]}
    held.add(versions.l2b_rgb_collection(version))
    return held


def _bbox(mask: np.ndarray, pad: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the True cells, padded and clipped to ``shape``."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (max(int(rows[0]) - pad, 0), max(int(cols[0]) - pad, 0),
            min(int(rows[-1]) + 1 + pad, shape[0]), min(int(cols[-1]) + 1 + pad, shape[1]))


def _colorize(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(4, h, w) uint8 RGBA: plasma colour ramp from 0 to the 98th percentile, alpha = mask."""
    shown = mask & np.isfinite(values)
    top = float(np.percentile(values[shown], 98)) if shown.any() else 1.0
    level = np.clip(np.nan_to_num(values) / max(top, 1e-6), 0.0, 1.0)
    rgb = _colormap()[np.rint(level * 255).astype(int)].transpose(2, 0, 1)
    rgb = np.maximum(rgb, 1)
    return np.concatenate([np.where(shown, rgb, 0), (shown * 255)[None]]).astype("uint8")


def write_cog(path: Path, data: np.ndarray, spec: AssetSpec, epsg: int | None, transform: Any,
              resampling: str, alpha: bool = False, nodata: float | None = None) -> None:
    """Write a (bands, h, w) array as a DEFLATE cloud-optimized GeoTIFF (256 px tiles)."""
    bands, height, width = data.shape
    options: dict[str, Any] = {
        "driver": "COG", "width": width, "height": height, "count": bands, "dtype": data.dtype.name,
        "nodata": spec.nodata if nodata is None else nodata, "compress": "DEFLATE", "blocksize": 256,
        "overview_resampling": resampling, "predictor": "YES",
    }
    if epsg is not None:
        options.update(crs=f"EPSG:{epsg}", transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **options) as dst:
            dst.write(data)
            if alpha:
                dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]


def _write_png(path: Path, data: np.ndarray) -> None:
    """A (bands, h, w) uint8 array as a PNG quicklook, decimated to <= 115 px a side."""
    step = -(-max(data.shape[1:]) // PNG_MAX_SIDE)
    image = np.ascontiguousarray(data[:, ::step, ::step].transpose(1, 2, 0))
    import matplotlib.image

    matplotlib.image.imsave(path, image, format="png", metadata={"Software": None})


def _write_outline(path: Path, mask: np.ndarray, grid: Grid, r0: int, c0: int, plume_id: str) -> None:
    """The mask's polygons, in lon/lat, as a GeoJSON Feature."""
    with FEATURES_LOCK:
        parts = [shapely.geometry.shape(geom) for geom, _ in shapes(
            mask.astype("uint8"), mask=mask, transform=grid.window_transform(r0, c0))]
    merged = shapely.union_all(parts)
    to_lonlat = Transformer.from_crs(grid.epsg, 4326, always_xy=True)
    lonlat = shapely.transform(merged, lambda xy: np.round(np.column_stack(
        to_lonlat.transform(xy[:, 0], xy[:, 1])), 7))
    feature = {"type": "Feature", "properties": {"plume_id": plume_id},
               "geometry": shapely.geometry.mapping(lonlat)}
    path.write_text(json.dumps(feature, separators=(",", ":")), encoding="utf-8")

