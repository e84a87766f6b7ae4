"""The replica served on threads of the test process: the same app as ``replica serve`` (world,
routes, CDN, admin) on free loopback ports, without a child interpreter to start."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import TracebackType

from cm_assets.replica.app import ServeConfig, build
from cm_assets.replica.auth import DEMO_EMAIL, DEMO_PASSWORD
from cm_assets.replica.clock import parse_instant
from cm_assets.replica.server import ReplicaServer, ReplicaState
from cm_assets_tests.helpers.replica import REPLICA_CLOCK_START, REPLICA_END, REPLICA_SEED


class InProcessReplica:
    """The suite's pinned tiny world (``REPLICA_*``) served in this process; the same attributes as
    :class:`~cm_assets.replica.process.ReplicaProcess`, plus ``state`` (the running app's state)."""

    def __init__(self, data_dir: Path | str, scale: str = "tiny") -> None:
        self.config = ServeConfig(data_dir=Path(data_dir), port=0, cdn_port=0, seed=REPLICA_SEED, scale=scale,
                                  end=date.fromisoformat(REPLICA_END),
                                  clock_start=parse_instant(REPLICA_CLOCK_START))
        self.email = DEMO_EMAIL
        self.password = DEMO_PASSWORD
        self.api_url = self.cdn_url = self.admin_url = self.stac_url = ""
        self._server: ReplicaServer | None = None

    @property
    def state(self) -> ReplicaState:
        assert self._server is not None, "not started"
        return self._server.state

    def start(self) -> InProcessReplica:
        """Build (or load the cached) world and listen; returns once both origins accept."""
        if self._server is not None:
            raise RuntimeError("already started")
        config = self.config
        server = ReplicaServer(config.host, 0, 0, lambda api_url, cdn_url: build(config, api_url, cdn_url))
        server.start()
        self._server = server
        self.api_url, self.admin_url, self.cdn_url = server.api_url, server.admin_url, server.cdn_url
        self.stac_url = f"{server.api_url}/stac/"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> InProcessReplica:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
