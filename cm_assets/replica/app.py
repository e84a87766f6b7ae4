"""Assembles the replica from its configuration: world, rasters, services and route tables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cm_assets.replica import (routes_admin, routes_auth, routes_catalog, routes_files,
                               routes_stac)
from cm_assets.replica.auth import AuthService
from cm_assets.replica.cdn import CdnSigner
from cm_assets.replica.clock import ReplicaClock
from cm_assets.replica.corruption import Corruptions
from cm_assets.replica.drift import Drift, apply_to_world
from cm_assets.replica.faults import FaultInjector
from cm_assets.replica.limits import RateLimiter
from cm_assets.replica.rasters import RasterStore
from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Router
from cm_assets.replica.world import WorldConfig
from cm_assets.replica.world_cache import load_or_build

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ServeConfig:
    """Every ``replica serve`` option."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8700
    cdn_port: int = 8701
    seed: int = 7
    scale: str = "tiny"
    end: date | None = None
    clock_start: datetime | None = None
    rate_limit: int = 0
    rate_window: float = 60.0
    fault_5xx_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: int = 0
    truncate_rate: float = 0.0
    fault_seed: int = 0
    token_lifetime: int = 604800
    cdn_url_lifetime: int = 3600
    drift: Drift = Drift()


def server_secret(data_dir: Path) -> bytes:
    """The signing secret, kept in the data dir so a restart keeps issued tokens valid."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def build(config: ServeConfig, api_url: str, cdn_url: str
          ) -> tuple[ReplicaState, Router, Router]:
    """The shared state plus the API and CDN route tables."""
    secret = server_secret(config.data_dir)
    world = load_or_build(WorldConfig.from_scale(config.scale, config.seed, config.end), config.data_dir)
    apply_to_world(world, config.drift)
    state = ReplicaState(
        world=world,
        rasters=RasterStore(world, config.data_dir / "assets"),
        clock=ReplicaClock(config.clock_start),
        auth=AuthService(secret, config.token_lifetime),
        signer=CdnSigner(secret, cdn_url, config.cdn_url_lifetime),
        limiter=RateLimiter(config.rate_limit, config.rate_window),
        faults=FaultInjector(config.fault_5xx_rate, config.slow_rate, config.slow_ms,
                             config.truncate_rate, config.fault_seed),
        corruptions=Corruptions(config.data_dir),
        api_url=api_url)
    api = Router()
    routes_auth.register(api, state, API_PREFIX)
    routes_catalog.register(api, state, API_PREFIX)
    routes_files.register(api, state, API_PREFIX)
    routes_stac.register(api, state, API_PREFIX)
    routes_admin.register(api, state)
    cdn = Router()
    routes_files.register_cdn(cdn, state)
    return state, api, cdn
