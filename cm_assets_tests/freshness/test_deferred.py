"""``deferred_scene_sensor``: retries days whose L2B scenes appeared, gives up after the documented age."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from cm_assets.defs.freshness.deferred import deferred_tick, rotate
from cm_assets.defs.give_up import unpublished_scene_status
from cm_assets.defs.freshness.settings import FreshnessSettings
from cm_assets.defs.scenes.assets import CropConfig, crop_row, resolve_scene
from cm_assets.storage.store import Storage
from cm_assets.replica.world import WorldConfig, build_world
from cm_assets_tests.helpers.replica import REPLICA_CLOCK_START, REPLICA_END, REPLICA_SEED
from cm_assets_tests.helpers.freshness import client_for

NOW = datetime.fromisoformat(REPLICA_CLOCK_START.replace("Z", "+00:00"))


def world_plumes() -> pd.DataFrame:
    """The session replica's plumes with their scene's observation time and L2B publication."""
    world = build_world(WorldConfig.from_scale("tiny", seed=REPLICA_SEED, end=date.fromisoformat(REPLICA_END)))
    scenes = world.scenes.iloc[world.plumes["scene_idx"].to_numpy()].reset_index(drop=True)
    plumes = world.plumes.reset_index(drop=True)
    return plumes.assign(observed=scenes["timestamp"], l2b=scenes["l2b_published_at"], scene_name=scenes["name"],
                         day=scenes["timestamp"].dt.strftime("%Y-%m-%d"))


def crop_rows(storage: Storage, plume: pd.Series, status: str = "deferred") -> None:
    frame = pd.DataFrame([{"plume_id": plume["plume_id"], "observation_day": plume["day"],
                           "scene_name": plume["scene_name"], "status": status}])
    path = f"crops/day={plume['day']}.parquet"
    if storage.exists(path):
        frame = pd.concat([storage.read_parquet(path), frame], ignore_index=True)
    storage.write_parquet(frame, path)


def test_appeared_scenes_are_retried_and_old_days_given_up(replica, tmp_path) -> None:
    plumes = world_plumes()
    visible = plumes[(plumes["published_at"] <= NOW) & (plumes["status"] == "published")]
    recent = visible[visible["observed"] >= NOW - timedelta(days=60)]
    appeared = recent[recent["l2b"] <= NOW - timedelta(days=1)].iloc[0]
    waiting = recent[recent["l2b"].isna() | (recent["l2b"] > NOW + timedelta(days=1))].iloc[0]
    old = visible[visible["observed"] < NOW - timedelta(days=120)].iloc[-1]
    storage = Storage(str(tmp_path))
    for plume in (appeared, waiting, old):
        crop_rows(storage, plume)
    done = recent[(recent["day"] != appeared["day"]) & (recent["l2b"] <= NOW)].iloc[0]
    crop_rows(storage, done, status="ok")

    with client_for(replica) as client:
        requests, cursor = deferred_tick(client, storage, None, FreshnessSettings(), NOW)
    by_trigger = {r.tags["cm_assets/trigger"]: r.partition_key for r in requests}
    assert by_trigger == {"gave_up": old["day"], "scene_published": appeared["day"]}
    assert cursor == max(appeared["scene_name"], waiting["scene_name"])


def test_scene_checks_rotate_through_the_backlog() -> None:
    names = ["a", "b", "c"]
    assert rotate(names, None) == names
    assert rotate(names, "b") == ["c", "a", "b"]
    assert rotate(names, "c") == names


def test_give_up_rule_is_ninety_days_after_observation_by_default() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert unpublished_scene_status("2026-08-27", now) == "deferred"
    assert unpublished_scene_status("2026-08-26", now) == "gave_up"


def test_give_up_follows_the_api_clock_not_the_wall_clock(replica, replica_factory, tmp_path) -> None:
    """The same never-published scene is 'deferred' on a replica at NOW and 'gave_up' on one whose
    clock (its ``Date`` header) is 200 days later; the machine's date plays no part."""
    plumes = world_plumes()
    never = plumes[plumes["l2b"].isna() & (plumes["published_at"] <= NOW) & (plumes["status"] == "published")
                   & (plumes["observed"] >= NOW - timedelta(days=60))].iloc[0]
    later = replica_factory(clock_start=(NOW + timedelta(days=200)).isoformat())
    statuses = {}
    for name, server in (("now", replica), ("later", later)):
        with client_for(server) as client:
            record = client.get_plume(never["plume_id"])
            scene = resolve_scene(client, record)
            api_now = client.api_now()
            row = crop_row(record, None, None, Storage(str(tmp_path)), never["day"], CropConfig(plots=False),
                           scene, api_now)
        statuses[name] = (row["status"], (api_now - NOW).days)
    assert statuses["now"][0] == "deferred" and 0 <= statuses["now"][1] <= 1
    assert statuses["later"][0] == "gave_up" and 200 <= statuses["later"][1] <= 201
