"""Which API a data root holds data from, so that runs against another API refuse to write into it.

The demo's synthetic world and the real catalog share one schema and one style of ids: mixed in one
data root, the warehouse would serve both as one catalog. The first run that writes a data root
records its API's origin (``layout.ORIGIN``); a run against another API stops with the way out.
Every replica on this machine (any loopback port) is one origin, as its port changes per start."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from cm_assets.storage import layout
from cm_assets.storage.store import Storage

#: The origin recorded for every replica on this machine (a key kept in files: never reworded).
LOCAL_REPLICA = "local replica"


class DataRootOriginError(RuntimeError):
    """The data root holds data fetched from another API than the run's."""


def api_origin(api_url: str) -> str:
    """What identifies the API at ``api_url`` across runs: its URL, or one name for every loopback
    replica."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    if host == "localhost" or host == "::1" or host.startswith("127."):
        return LOCAL_REPLICA
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def claim_data_root(store: Storage, api_url: str) -> None:
    """Record ``api_url``'s origin in a data root that has none; raise DataRootOriginError when the
    data root already holds another's."""
    origin = api_origin(api_url)
    if store.exists(layout.ORIGIN):
        held = json.loads(store.read_bytes(layout.ORIGIN))["api"]
        if held != origin:
            raise DataRootOriginError(
                f"the data root '{store.root}' holds data fetched from {_described(held)}, and this run "
                f"talks to {_described(origin)}: give it a data root of its own (CM_ASSETS_DATA_ROOT, "
                f"or the storage resource's root), or remove '{store.root}' to start over")
        return
    store.write_bytes(layout.ORIGIN, json.dumps({"api": origin}).encode())


def _described(origin: str) -> str:
    return "the local replica (any loopback address)" if origin == LOCAL_REPLICA else origin
