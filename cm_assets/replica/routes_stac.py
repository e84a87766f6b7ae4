"""The STAC API under ``/stac`` (catalog, conformance, collections, items, search).

Only STAC-resident collections (``world.collections[id]["stac_resident"]``) are visible; newer
versions are reachable through the asset proxy only (the 2026-07 state, spec §6.3). Paging is
offset-based with a page cap of 100 (larger ``limit`` values are capped, not rejected). Responses
carry ``numberMatched``, ``numberReturned``, ``context {matched, returned, limit}`` and a
``rel=next`` link (GET: the query string with the next ``offset``; POST: ``method: POST`` with
the body and the next ``offset``), which is what an unmodified pystac-client needs to page.
Asset ``href`` values use the Bearer-gated proxy form (stable URLs; spec §12.3 is open).
Errors are JSON ``{"code", "description"}`` plus ``messages[{"message"}]`` (spec §3.4).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import shapely
import shapely.geometry

from cm_assets.replica import stac_records
from cm_assets.replica.errors import HTTPError
from cm_assets.replica.params import parse_interval
from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Request, Response, Router, json_response

STAC_VERSION = "1.0.0"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


def stac_error(status: int, code: str, description: str) -> HTTPError:
    return HTTPError(status, {"code": code, "description": description,
                              "messages": [{"message": description}]})


def _bad_request(description: str) -> HTTPError:
    return stac_error(400, "BadRequest", description)


def _list(value: Any, name: str) -> list[str] | None:
    """A list parameter given as a list, a comma-joined string, or repeated keys."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _bad_request(f"{name} must be a list or a comma-separated string")
    items = [part.strip() for v in value for part in str(v).split(",") if part.strip()]
    return items or None


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else value
    try:
        numbers = [float(v) for v in parts]
    except (TypeError, ValueError) as exc:
        raise _bad_request("bbox must be 4 numbers W,S,E,N") from exc
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise _bad_request("bbox must be 4 numbers W,S,E,N")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _int(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _bad_request(f"{name} must be an integer") from exc
    if number < 0:
        raise _bad_request(f"{name} must not be negative")
    return number


class SearchArgs:
    """Validated search parameters from a query string or a POST body."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.collections = _list(raw.get("collections"), "collections")
        self.ids = _list(raw.get("ids"), "ids")
        self.bbox = _bbox(raw.get("bbox"))
        self.intersects = raw.get("intersects")
        if isinstance(self.intersects, str):
            try:
                self.intersects = json.loads(self.intersects)
            except json.JSONDecodeError as exc:
                raise _bad_request("intersects must be a GeoJSON geometry") from exc
        if self.intersects is not None and not isinstance(self.intersects, dict):
            raise _bad_request("intersects must be a GeoJSON geometry")
        if self.bbox and self.intersects:
            raise _bad_request("bbox and intersects are mutually exclusive")
        self.datetime = None
        if raw.get("datetime"):
            try:
                self.datetime = parse_interval(str(raw["datetime"]))
            except ValueError as exc:
                raise _bad_request(f"invalid datetime {raw['datetime']!r}") from exc
        self.limit = min(max(_int(raw.get("limit"), "limit", DEFAULT_LIMIT), 1), MAX_LIMIT)
        self.offset = _int(raw.get("offset"), "offset", 0)

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> SearchArgs:
        raw: dict[str, Any] = {k: v[-1] for k, v in query.items()}
        for name in ("collections", "ids"):
            if name in query:
                raw[name] = query[name]
        return cls(raw)


def register(router: Router, state: ReplicaState, prefix: str) -> None:
    """Add the STAC routes under ``{prefix}/stac``."""
    base = f"{state.api_url}/stac"
    stac = f"{prefix}/stac"

    def resident(collection_id: str) -> bool:
        info = state.world.collections.get(collection_id)
        return bool(info and info.get("stac_resident"))

    def resident_ids() -> list[str]:
        return sorted(c for c, info in state.world.collections.items()
                      if info.get("stac_resident"))

    def collection_or_404(collection_id: str) -> None:
        if not resident(collection_id):
            raise stac_error(404, "NotFoundError", f"Collection {collection_id} does not exist.")

    def root(request: Request) -> Response:
        links = [
            {"rel": "self", "href": f"{base}/", "type": "application/json"},
            {"rel": "root", "href": f"{base}/", "type": "application/json"},
            {"rel": "data", "href": f"{base}/collections", "type": "application/json"},
            {"rel": "conformance", "href": f"{base}/conformance", "type": "application/json"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "GET"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "POST"},
        ] + [{"rel": "child", "href": f"{base}/collections/{c}", "type": "application/json",
              "title": c} for c in resident_ids()]
        return json_response({
            "type": "Catalog", "stac_version": STAC_VERSION, "id": "carbonmapper",
            "title": "Carbon Mapper STAC API", "description": "Carbon Mapper data catalog",
            "conformsTo": CONFORMANCE, "links": links})

    def conformance(request: Request) -> Response:
        return json_response({"conformsTo": CONFORMANCE})

    def collections(request: Request) -> Response:
        with state.lock:
            items = [stac_records.stac_collection(state.world, c, state.api_url)
                     for c in resident_ids()]
        return json_response({"collections": items, "links": [
            {"rel": "self", "href": f"{base}/collections", "type": "application/json"},
            {"rel": "root", "href": f"{base}/", "type": "application/json"}]})

    def collection(request: Request, collection_id: str) -> Response:
        collection_or_404(collection_id)
        with state.lock:
            return json_response(stac_records.stac_collection(state.world, collection_id,
                                                         state.api_url))

    def item(request: Request, collection_id: str, item_id: str) -> Response:
        collection_or_404(collection_id)
        with state.lock:
            rows = stac_records.stac_items(state.world, collection_id, state.clock.now(),
                                      ids=(item_id,))
            if not rows:
                raise stac_error(404, "NotFoundError",
                                 f"Item {item_id} in Collection {collection_id} does not exist.")
            found = stac_records.stac_item(state.world, rows[0][1], collection_id, state.api_url)
        return json_response(found, content_type=GEOJSON)

    def run_search(args: SearchArgs, collection_ids: list[str]) -> tuple[list[dict], int]:
        """One page of features across collections (collection-id order, then time)."""
        now = state.clock.now()
        bbox = args.bbox
        shape = None
        if args.intersects is not None:
            try:
                shape = shapely.geometry.shape(args.intersects)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                raise _bad_request("intersects must be a GeoJSON geometry") from exc
            bbox = shape.bounds
        ids = tuple(args.ids) if args.ids else None
        with state.lock:
            hits = [(c, row) for c in sorted(set(collection_ids))
                    for _, row in stac_records.stac_items(state.world, c, now, bbox=bbox,
                                                     datetime=args.datetime, ids=ids)]
            if shape is not None:
                hits = [(c, row) for c, row in hits if shape.intersects(shapely.geometry.shape(
                    stac_records.stac_item(state.world, row, c, state.api_url)["geometry"]))]
            features = [stac_records.stac_item(state.world, row, c, state.api_url)
                        for c, row in hits[args.offset:args.offset + args.limit]]
        return features, len(hits)

    def page(args: SearchArgs, features: list[dict], matched: int, self_href: str,
             next_link: dict[str, Any] | None) -> Response:
        links = [{"rel": "self", "href": self_href, "type": GEOJSON},
                 {"rel": "root", "href": f"{base}/", "type": "application/json"}]
        if next_link is not None and args.offset + len(features) < matched:
            links.append(next_link)
        return json_response({
            "type": "FeatureCollection", "features": features, "links": links,
            "numberMatched": matched, "numberReturned": len(features),
            "context": {"matched": matched, "returned": len(features), "limit": args.limit},
        }, content_type=GEOJSON)

    def get_next(url: str, query: dict[str, list[str]], args: SearchArgs) -> dict[str, Any]:
        params = [(k, v) for k, values in query.items() if k != "offset" for v in values]
        params.append(("offset", str(args.offset + args.limit)))
        return {"rel": "next", "href": f"{url}?{urlencode(params)}", "type": GEOJSON,
                "method": "GET"}

    def items(request: Request, collection_id: str) -> Response:
        collection_or_404(collection_id)
        args = SearchArgs.from_query(request.query)
        features, matched = run_search(args, [collection_id])
        url = f"{base}/collections/{collection_id}/items"
        return page(args, features, matched, url, get_next(url, request.query, args))

    def search_get(request: Request) -> Response:
        args = SearchArgs.from_query(request.query)
        wanted = args.collections or resident_ids()
        features, matched = run_search(args, [c for c in wanted if resident(c)])
        url = f"{base}/search"
        return page(args, features, matched, url, get_next(url, request.query, args))

    def search_post(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise _bad_request("body must be a JSON object")
        args = SearchArgs(body)
        wanted = args.collections or resident_ids()
        features, matched = run_search(args, [c for c in wanted if resident(c)])
        next_link = {"rel": "next", "href": f"{base}/search", "type": GEOJSON,
                     "method": "POST", "body": {**body, "offset": args.offset + args.limit},
                     "merge": False}
        return page(args, features, matched, f"{base}/search", next_link)

    router.add("GET", stac, root, "stac")
    router.add("GET", f"{stac}/", root, "stac")
    router.add("GET", f"{stac}/conformance", conformance, "stac")
    router.add("GET", f"{stac}/collections", collections, "stac")
    router.add("GET", f"{stac}/collections/{{collection_id}}", collection, "stac")
    router.add("GET", f"{stac}/collections/{{collection_id}}/items", items, "stac")
    router.add("GET", f"{stac}/collections/{{collection_id}}/items/{{item_id}}",
               item, "stac")
    router.add("GET", f"{stac}/search", search_get, "stac")
    router.add("POST", f"{stac}/search", search_post, "stac")
