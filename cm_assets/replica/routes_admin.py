"""Replica-only admin routes under ``/_replica`` (not part of the real API).

``GET/POST /_replica/clock``, ``POST /_replica/reprocess``, ``GET /_replica/stats``,
``POST /_replica/stats/reset``, ``GET/POST/DELETE /_replica/faults``,
``GET/POST/DELETE /_replica/corrupt`` (malformed records and assets, see ``corruption.py``).
"""

from __future__ import annotations

from cm_assets.replica.clock import parse_instant
from cm_assets.replica.errors import HTTPError
from cm_assets.replica import reprocessing
from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Request, Response, Router, json_response


def _bad(message: str) -> HTTPError:
    return HTTPError(400, {"detail": message})


def register(router: Router, state: ReplicaState) -> None:
    """Add the admin routes."""

    def clock_get(request: Request) -> Response:
        return json_response({"now": state.clock.now().isoformat()})

    def clock_post(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise _bad("expected a JSON object")
        try:
            if "set" in body:
                now = state.clock.set(parse_instant(str(body["set"])))
            elif "advance_seconds" in body:
                now = state.clock.advance(float(body["advance_seconds"]))
            else:
                raise _bad("expected 'set' or 'advance_seconds'")
        except (TypeError, ValueError) as exc:
            raise _bad(f"invalid clock change: {exc}") from exc
        return json_response({"now": now.isoformat()})

    def reprocess(request: Request) -> Response:
        body = request.json()
        plume = body.get("plume_id") if isinstance(body, dict) else None
        if not isinstance(plume, str) or not plume:
            raise _bad("expected {'plume_id': ...}")
        with state.lock:
            try:
                row = reprocessing.reprocess(state.world, plume, state.clock.now())
            except KeyError as exc:
                raise HTTPError(404, {"detail": "Not Found"}) from exc
        return json_response({"plume_id": row["plume_id"], "id": row["id"],
                              "emission_version": row["emission_version"],
                              "modified": row["modified"].isoformat()})

    def stats(request: Request) -> Response:
        return json_response(state.stats.snapshot())

    def requests_per_path(request: Request) -> Response:
        return json_response({"paths": state.stats.paths()})

    def stats_reset(request: Request) -> Response:
        state.stats.reset()
        return json_response(state.stats.snapshot())

    def faults_get(request: Request) -> Response:
        return json_response({"pending": state.faults.pending()})

    def faults_post(request: Request) -> Response:
        try:
            state.faults.schedule(request.json())
        except (TypeError, ValueError) as exc:
            raise _bad(f"invalid fault: {exc}") from exc
        return json_response({"pending": state.faults.pending()})

    def faults_delete(request: Request) -> Response:
        state.faults.clear()
        return json_response({"pending": []})

    def corrupt_get(request: Request) -> Response:
        return json_response(state.corruptions.pending())

    def corrupt_post(request: Request) -> Response:
        try:
            state.corruptions.schedule(request.json())
        except (TypeError, ValueError) as exc:
            raise _bad(f"invalid corruption: {exc}") from exc
        return json_response(state.corruptions.pending())

    def corrupt_delete(request: Request) -> Response:
        state.corruptions.clear()
        return json_response(state.corruptions.pending())

    router.add("GET", "/_replica/corrupt", corrupt_get, "admin", auth="none")
    router.add("POST", "/_replica/corrupt", corrupt_post, "admin", auth="none")
    router.add("DELETE", "/_replica/corrupt", corrupt_delete, "admin", auth="none")
    router.add("GET", "/_replica/clock", clock_get, "admin", auth="none")
    router.add("POST", "/_replica/clock", clock_post, "admin", auth="none")
    router.add("POST", "/_replica/reprocess", reprocess, "admin", auth="none")
    router.add("GET", "/_replica/stats", stats, "admin", auth="none")
    router.add("POST", "/_replica/stats/reset", stats_reset, "admin", auth="none")
    router.add("GET", "/_replica/stats/paths", requests_per_path, "admin", auth="none")
    router.add("GET", "/_replica/faults", faults_get, "admin", auth="none")
    router.add("POST", "/_replica/faults", faults_post, "admin", auth="none")
    router.add("DELETE", "/_replica/faults", faults_delete, "admin", auth="none")
