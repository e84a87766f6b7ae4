"""``deferred_scene_sensor``: retries days whose L2B scenes appeared, gives up after the documented age."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import DagsterInstance

from cm_assets.defs.api_watch import deferred
from cm_assets.defs.api_watch.deferred import deferred_scene_sensor, deferred_tick, rotate
from cm_assets.defs.api_watch.runs import REFRESH_JOB
from cm_assets.defs.give_up import unpublished_scene_status
from cm_assets.definitions import build_definitions
from cm_assets.defs.resources import FreshnessResource, StorageResource
from cm_assets.defs.scenes.assets import CropConfig, crop_row, resolve_scene
from cm_assets.storage import layout
from cm_assets.storage.store import Storage
from cm_assets.replica.world import WorldConfig
from cm_assets.replica.world_generator import build_world
from cm_assets_tests.helpers.replica import REPLICA_CLOCK_START, REPLICA_END, REPLICA_SEED
from cm_assets_tests.helpers.freshness import client_for, resource_for

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
        requests, cursor = deferred_tick(client, storage, None, FreshnessResource(), NOW)
    by_trigger = {r.tags["cm_assets/trigger"]: r.partition_key for r in requests}
    assert by_trigger == {"gave_up": old["day"], "scene_published": appeared["day"]}
    assert cursor == max(appeared["scene_name"], waiting["scene_name"])


def test_a_ticks_scenes_are_checked_together(replica, tmp_path, monkeypatch) -> None:
    """The tick's scenes are asked about at once (one by one, a backlog of unpublished scenes at
    100 ms a request took minutes); each scene once, and the cursor is the last one checked."""
    plumes = world_plumes()
    recent = plumes[(plumes["published_at"] <= NOW) & (plumes["status"] == "published")
                    & (plumes["observed"] >= NOW - timedelta(days=60))]
    waiting = recent[recent["l2b"].isna() | (recent["l2b"] > NOW + timedelta(days=1))].drop_duplicates("scene_name")
    storage = Storage(str(tmp_path))
    for _, plume in waiting.head(3).iterrows():
        crop_rows(storage, plume)
    together = threading.Barrier(3, timeout=20)  # broken unless the three checks are in flight at once
    check = deferred.scene_published
    asked: list[str] = []
    monkeypatch.setattr(deferred, "scene_published", lambda client, plume_id, lookups: asked.append(plume_id)
                        or together.wait() * 0 or check(client, plume_id, lookups))
    with client_for(replica) as client:
        requests, cursor = deferred_tick(client, storage, None, FreshnessResource(), NOW)
    assert requests == [] and sorted(asked) == sorted(waiting.head(3)["plume_id"])
    assert cursor == max(waiting.head(3)["scene_name"])


def test_the_sensor_gives_up_at_the_resource_age(replica, tmp_path, evaluate) -> None:
    """The deferred sensor takes its give-up age from the freshness resource: a day 120+ days old is
    given up under the default 90 days and still waited for under 365."""
    plumes = world_plumes()
    visible = plumes[(plumes["published_at"] <= NOW) & (plumes["status"] == "published")]
    old = visible[(visible["observed"] < NOW - timedelta(days=120))
                  & (visible["observed"] > NOW - timedelta(days=300))].iloc[-1]
    crop_rows(Storage(str(tmp_path)), old)

    def triggers(freshness: FreshnessResource) -> set[str]:
        tick = evaluate(deferred_scene_sensor, replica, None, freshness)
        return {r.tags["cm_assets/trigger"] for r in tick.run_requests}

    assert "gave_up" in triggers(FreshnessResource())
    assert "gave_up" not in triggers(FreshnessResource(give_up_days=365))


def test_scene_checks_rotate_through_the_backlog() -> None:
    names = ["a", "b", "c"]
    assert rotate(names, None) == names
    assert rotate(names, "b") == ["c", "a", "b"]
    assert rotate(names, "c") == names


def test_give_up_rule_is_ninety_days_after_observation_by_default() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    days = FreshnessResource().give_up_days
    assert unpublished_scene_status("2026-08-27", now, days) == "deferred"
    assert unpublished_scene_status("2026-08-26", now, days) == "gave_up"
    assert unpublished_scene_status("2026-08-27", now, 89) == "gave_up"


def test_give_up_follows_the_api_clock_not_the_wall_clock(replica, replica_factory, tmp_path) -> None:
    """The same never-published scene is 'deferred' on a replica at NOW and 'gave_up' on one whose
    clock (its ``Date`` header) is 200 days later; the machine's date plays no part."""
    plumes = world_plumes()
    never = plumes[plumes["l2b"].isna() & (plumes["published_at"] <= NOW) & (plumes["status"] == "published")
                   & (plumes["observed"] >= NOW - timedelta(days=60))].iloc[0]
    later = replica_factory(clock_start=(NOW + timedelta(days=200)).isoformat())
    statuses = {}
    for name, server in (("now", replica), ("later", later)):
        with client_for(server) as client, ThreadPoolExecutor(1) as reads:
            record = client.get_plume(never["plume_id"])
            scene = resolve_scene(client, record, reads)
            api_now = client.api_now()
            row = crop_row(record, None, None, Storage(str(tmp_path)), never["day"], CropConfig(plots=False),
                           scene, api_now, FreshnessResource().give_up_days, reads)
        statuses[name] = (row["status"], (api_now - NOW).days)
    assert statuses["now"][0] == "deferred" and 0 <= statuses["now"][1] <= 1
    assert statuses["later"][0] == "gave_up" and 200 <= statuses["later"][1] <= 201


def test_scene_crops_takes_the_give_up_age_from_the_resource(replica, tmp_path) -> None:
    """A recent plume whose scene is never published ('deferred' under the default 90 days) is recorded
    'gave_up' by a run whose ``freshness`` resource sets the age to 0 days."""
    plumes = world_plumes()
    never = plumes[plumes["l2b"].isna() & (plumes["published_at"] <= NOW) & (plumes["status"] == "published")
                   & (plumes["observed"] >= NOW - timedelta(days=60))].iloc[0]
    defs = build_definitions(resource_for(replica), StorageResource(root=str(tmp_path)),
                             FreshnessResource(give_up_days=0))
    result = defs.resolve_job_def(REFRESH_JOB).execute_in_process(
        partition_key=never["day"], instance=DagsterInstance.ephemeral(),
        run_config={"ops": {"scene_crops": {"config": {"plots": False}}}})
    assert result.success
    crops = pd.read_parquet(tmp_path / layout.crops_day(never["day"])).set_index("plume_id")
    assert crops.loc[never["plume_id"], "status"] == "gave_up"
