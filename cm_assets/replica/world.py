"""The replica's world model: ``WorldConfig``, the ``World`` tables and their O(1) lookups.

``world_generator.build_world`` draws the tables, ``reprocessing.reprocess`` re-versions one
plume in place and ``drift.apply_to_world`` re-versions the newest era. The columns are described
in docs/architecture.md ("Replica world").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from cm_assets.replica import versions

WORLD_START = date(2016, 8, 1)
SCALES = {"tiny": 1_500, "demo": 6_000, "full": 100_000}


def utc_ns(column: pd.Series) -> np.ndarray:
    """A tz-aware UTC datetime column as naive ``datetime64[ns]`` (NaT kept)."""
    return column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]")


def utc(moment: datetime) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class WorldConfig:
    """Seed, size and last observation day of a world."""

    seed: int = 7
    n_plumes: int = 6000
    end: date = field(default_factory=_today)

    def __post_init__(self) -> None:
        if self.n_plumes < 1:
            raise ValueError(f"n_plumes must be positive, got {self.n_plumes}")
        if self.end < WORLD_START + timedelta(days=60):
            raise ValueError(f"end {self.end} is before the world's first observations ({WORLD_START})")

    @classmethod
    def from_scale(cls, scale: str | int, seed: int = 7, end: date | None = None) -> WorldConfig:
        """Config for a named scale (tiny, demo, full) or an explicit plume count."""
        if isinstance(scale, str) and not scale.isdigit():
            if scale not in SCALES:
                raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)} or an integer")
            n = SCALES[scale]
        else:
            n = int(scale)
        return cls(seed=seed, n_plumes=n, end=end or _today())


class World:
    """Tables of one synthetic world plus O(1) lookups; see docs/architecture.md."""

    def __init__(
        self,
        config: WorldConfig,
        scenes: pd.DataFrame,
        plumes: pd.DataFrame,
        sources: pd.DataFrame,
        source_scene_ptr: np.ndarray,
        source_scene_idx: np.ndarray,
    ) -> None:
        self.config = config
        self.scenes = scenes
        self.plumes = plumes
        self.sources = sources
        self.source_scene_ptr = source_scene_ptr
        self.source_scene_idx = source_scene_idx
        self.collections = collections_of(scenes, plumes)
        self._plume_keys = {k: i for i, k in enumerate(plumes["id"].tolist())}
        self._plume_keys.update({k: i for i, k in enumerate(plumes["plume_id"].tolist())})
        self._scene_keys = {k: i for i, k in enumerate(scenes["id"].tolist())}
        self._scene_keys.update({k: i for i, k in enumerate(scenes["name"].tolist())})
        self._source_keys = {k: i for i, k in enumerate(sources["source_name"].tolist())}
        self.reprocessed = 0  # plumes re-processed so far; seeds the next re-processing
        self._arrays: dict[str, np.ndarray] | None = None
        self._columns: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None

    def columns(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(plume, scene) columns as numpy arrays for fast per-row access (times as int64 ns)."""
        if self._columns is None:
            self._columns = (_column_arrays(self.plumes), _column_arrays(self.scenes))
        return self._columns

    def arrays(self) -> dict[str, np.ndarray]:
        """Column arrays for vectorized selection (times as int64 ns UTC); rebuilt after changes."""
        if self._arrays is None:
            self._arrays = _selection_arrays(self.scenes, self.plumes)
        return self._arrays

    def plume_index(self, key: str) -> int | None:
        """Row of a plume by UUID or colloquial plume id."""
        return self._plume_keys.get(key)

    def scene_index(self, key: str) -> int | None:
        """Row of a scene by name or UUID."""
        return self._scene_keys.get(key)

    def source_index(self, name: str) -> int | None:
        """Row of a source by canonical name."""
        return self._source_keys.get(name)

    def source_scenes(self, k: int) -> np.ndarray:
        """Scene rows (time order) whose footprint covers source ``k``."""
        return self.source_scene_idx[self.source_scene_ptr[k] : self.source_scene_ptr[k + 1]]

    def rows_changed(self) -> None:
        """Drop the cached column views after rows were edited in place."""
        self._arrays = None
        self._columns = None


def _column_arrays(table: pd.DataFrame) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, column in table.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            values = utc_ns(column)
            out[name] = np.where(np.isnat(values), np.iinfo(np.int64).min, values.astype(np.int64))
        else:
            out[name] = column.to_numpy(dtype=object if column.dtype == object or pd.api.types.is_string_dtype(column) else None)
    return out


def _selection_arrays(scenes: pd.DataFrame, plumes: pd.DataFrame) -> dict[str, np.ndarray]:
    scene_idx = plumes["scene_idx"].to_numpy()
    scene_ts = utc_ns(scenes["timestamp"]).astype(np.int64)
    published = utc_ns(plumes["published_at"]).astype(np.int64)
    first_plume = np.full(len(scenes), np.iinfo(np.int64).max)
    np.minimum.at(first_plume, scene_idx, published)
    l2b = utc_ns(scenes["l2b_published_at"])
    l2b_ns = np.where(np.isnat(l2b), np.iinfo(np.int64).max, l2b.astype(np.int64))
    plume_id = plumes["plume_id"].to_numpy(dtype=object)
    ts = scene_ts[scene_idx]
    return {
        "ts": ts,
        "published": published,
        "modified": utc_ns(plumes["modified"]).astype(np.int64),
        "clustered": utc_ns(plumes["clustered_at"]).astype(np.int64),
        "emission": np.where(plumes["hide_emission"].to_numpy(), np.nan, plumes["emission_auto"].to_numpy(float)),
        "gas": plumes["gas"].to_numpy(dtype=object),
        "sector": plumes["sector"].to_numpy(dtype=object),
        "instrument": scenes["instrument"].to_numpy(dtype=object)[scene_idx],
        "quality": plumes["plume_quality"].to_numpy(dtype=object),
        "lon": plumes["lon"].to_numpy(float),
        "lat": plumes["lat"].to_numpy(float),
        "scene_idx": scene_idx,
        "source_idx": plumes["source_idx"].to_numpy(),
        "plume_id": plume_id,
        "order_asc": np.lexsort((plume_id.astype(str), ts)),
        "scene_ts": scene_ts,
        "scene_visible": np.minimum(first_plume, l2b_ns),
        "l2b_published": l2b_ns,
        "scene_instrument": scenes["instrument"].to_numpy(dtype=object),
        "scene_bounds": scenes[["west", "south", "east", "north"]].to_numpy(float),
        "scene_has_co2": np.array(["CO2" in g for g in scenes["gases"]]),
    }


def _extents(ids: np.ndarray, ts: np.ndarray, into: dict[str, tuple[np.datetime64, np.datetime64]]) -> None:
    """Merge the (min, max) time of each id in ``ids`` into ``into``."""
    present = pd.notna(ids)
    codes, uniques = pd.factorize(ids[present])
    t = ts[present].astype(np.int64)
    lo = np.full(len(uniques), np.iinfo(np.int64).max)
    hi = np.full(len(uniques), np.iinfo(np.int64).min)
    np.minimum.at(lo, codes, t)
    np.maximum.at(hi, codes, t)
    for cid, a, b in zip(uniques, lo, hi):
        old = into.get(cid)
        into[cid] = (min(old[0], a), max(old[1], b)) if old else (a, b)


def collections_of(scenes: pd.DataFrame, plumes: pd.DataFrame, only_plumes: bool = False) -> dict[str, dict]:
    """Every collection the rows use: level, family, gas, cmf_type, version, STAC residency, extent."""
    ts = utc_ns(scenes["timestamp"])
    p_ts = ts[plumes["scene_idx"].to_numpy()]
    extents: dict[str, tuple[np.datetime64, np.datetime64]] = {}
    for column in ("l3a_vis_collection", "l3a_ime_collection", "collection", "l2b_collection", "l2b_rgb_collection"):
        _extents(plumes[column].to_numpy(dtype=object), p_ts, extents)
    if not only_plumes:
        inst = scenes["instrument"].to_numpy()
        ver = scenes["l2b_version"].to_numpy()
        for gas in ("CH4", "CO2"):
            has = np.array([gas in g for g in scenes["gases"]])
            ids = np.array([versions.l2b_collection(gas, v, i) for v, i in zip(ver[has], inst[has])], dtype=object)
            _extents(ids, ts[has], extents)
        _extents(np.array([versions.l2b_rgb_collection(v) for v in ver], dtype=object), ts, extents)
    out: dict[str, dict] = {}
    for cid, (lo, hi) in sorted(extents.items()):
        info = versions.parse_collection(cid)
        info["stac_resident"] = info["family"] != "l2c" and info["version"] in versions.STAC_VERSIONS
        info["temporal_extent"] = (pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC"))
        out[cid] = info
    return out
