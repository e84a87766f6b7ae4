"""Re-processing of one plume (``POST /_replica/reprocess``): the freshness work's upstream change."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from cm_assets.replica import versions
from cm_assets.replica.world import World, collections_of, utc


def reprocess(world: World, plume_key: str, now: datetime) -> pd.Series:
    """Re-version one plume to the newest family, nudge its emission, set ``modified = now``."""
    i = world.plume_index(plume_key)
    if i is None:
        raise KeyError(f"unknown plume {plume_key!r}")
    world.reprocessed += 1
    row = world.plumes.loc[i]
    rng = np.random.default_rng([world.config.seed, int(row["plume_seed"]), world.reprocessed])
    factor = 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(0.02, 0.06)
    version = versions.newest_version()
    vis, ime = versions.l3a_collections(row["gas"], version)
    _, ime_cmf = versions.cmf_types(row["gas"], version)
    updates = {
        "emission_version": version,
        "processing_software": versions.software(version, int(rng.integers(0, 9))),
        "l3a_vis_collection": vis,
        "l3a_ime_collection": ime,
        "emission_cmf_type": ime_cmf,
        "cmf_type": ime_cmf,
        "q_true": row["q_true"] * factor,
        "emission_auto": row["emission_auto"] * factor,
        "emission_uncertainty_auto": row["emission_uncertainty_auto"] * factor,
        "modified": utc(now),
    }
    for column, value in updates.items():
        world.plumes.at[i, column] = value
    world.rows_changed()
    world.collections.update(collections_of(world.scenes, world.plumes.loc[[i]], only_plumes=True))
    return world.plumes.loc[i].copy()
