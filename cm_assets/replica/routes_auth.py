"""``/token/pair``, ``/token/refresh``, ``/token/verify``, ``/account/tokens/create-stac``."""

from __future__ import annotations

from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Request, Response, Router, json_response


def register(router: Router, state: ReplicaState, prefix: str) -> None:
    """Add the account routes under ``prefix`` (``/api/v1``)."""

    def pair(request: Request) -> Response:
        return json_response(state.auth.pair(request.json()))

    def refresh(request: Request) -> Response:
        return json_response(state.auth.refresh(request.json()))

    def verify(request: Request) -> Response:
        return json_response(state.auth.verify(request.json()))

    def create_stac(request: Request) -> Response:
        assert request.claims is not None  # guaranteed by auth="required"
        return json_response(state.auth.create_stac(request.claims, request.json()))

    router.add("POST", f"{prefix}/token/pair", pair, "auth", auth="none")
    router.add("POST", f"{prefix}/token/refresh", refresh, "auth", auth="none")
    router.add("POST", f"{prefix}/token/verify", verify, "auth", auth="none")
    router.add("POST", f"{prefix}/account/tokens/create-stac", create_stac, "auth",
               auth="required")
