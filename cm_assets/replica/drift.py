"""API drift on demand: the replica serves what a changed upstream would, so the pipeline's drift
checks and the client's version-agnostic resolution can be tested before the real API changes.

``Drift(version="v3f")`` renames the newest version family (``v3e``: plumes observed from
2026-06-01 and their L2B scenes, L3A/L2B/RGB collection ids) to ``v3f``; ``cmf_type="mfma"``
gives the same CH4 plumes and scenes that cmf type in every collection id; ``extra_fields`` are
added to every plume record (value: ``"<name>-value"``); ``drop_fields`` are removed from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cm_assets.replica import versions
from cm_assets.replica.world import collections_of

_VERSION_GRAMMAR = re.compile(r"^v\d+[a-z]*$")
_CMF_GRAMMAR = re.compile(r"^mf[a-z]*$")


@dataclass(frozen=True)
class Drift:
    version: str | None = None
    cmf_type: str | None = None
    extra_fields: tuple[str, ...] = ()
    drop_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.version is not None and not _VERSION_GRAMMAR.match(self.version):
            raise ValueError(f"--drift-version must look like v3f, got {self.version!r}")
        if self.cmf_type is not None and not _CMF_GRAMMAR.match(self.cmf_type):
            raise ValueError(f"--drift-cmf-type must look like mfma, got {self.cmf_type!r}")
        if {"id", "plume_id", "gas"} & set(self.drop_fields):
            raise ValueError("id, plume_id and gas cannot be dropped")

    @property
    def changes_world(self) -> bool:
        return self.version is not None or self.cmf_type is not None


def _rename(collection: Any, old: str, new: str, cmf: str | None) -> Any:
    """``collection`` with its version ``old`` -> ``new`` and (for CH4, non-RGB) its cmf type."""
    if not isinstance(collection, str) or not collection.endswith(f"-{old}"):
        return collection
    renamed = collection[: -len(old)] + new
    if cmf is not None and "-ch4-" in renamed:
        renamed = re.sub(r"-ch4-mf[a-z]*-", f"-ch4-{cmf}-", renamed)
    return renamed


def apply_to_world(world: Any, drift: Drift) -> None:
    """Re-version the newest era of ``world`` in place (plumes, scenes, collections)."""
    world.drift = drift
    if not drift.changes_world:
        return
    old = versions.newest_version()
    new = drift.version or old
    plumes, scenes = world.plumes, world.scenes
    newest = plumes["emission_version"] == old
    ch4 = plumes["gas"] == "CH4"
    plumes.loc[newest, "emission_version"] = new
    if drift.cmf_type is not None:
        plumes.loc[newest & ch4, "cmf_type"] = drift.cmf_type
        plumes.loc[newest & ch4, "emission_cmf_type"] = drift.cmf_type
    for column in ("l3a_vis_collection", "l3a_ime_collection", "l2b_collection", "l2b_rgb_collection"):
        plumes.loc[newest, column] = [_rename(c, old, new, drift.cmf_type) for c in plumes.loc[newest, column]]
    scene_rows = scenes["l2b_version"] == old
    scenes.loc[scene_rows, "l2b_version"] = new
    scenes["l2b_cmf_type"] = None
    if drift.cmf_type is not None:
        scenes.loc[scene_rows, "l2b_cmf_type"] = drift.cmf_type
    world.collections = collections_of(scenes, plumes)
    world.rows_changed()


def apply_to_record(record: dict, drift: Drift | None) -> dict:
    """A plume record with the drift's extra fields added and dropped fields removed."""
    if drift is None or not (drift.extra_fields or drift.drop_fields):
        return record
    out = {k: v for k, v in record.items() if k not in drift.drop_fields}
    out.update({name: f"{name}-value" for name in drift.extra_fields})
    return out
