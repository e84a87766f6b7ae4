"""The REST catalog under ``/api/v1/catalog`` (plumes, CSV exports, sources, scenes).

Choices where the spec is silent (also in docs/replica.md):

* ``plumes/annotated``: default ``limit`` 100, max 1000; ``bbox_count`` equals ``total_count``
  (all filters, bbox included, applied); ``nearby_items`` is always ``[]``.
* ``plume-csv``: default 500 / max 1000 rows per page (the 2025 tutorial), not the 10k/50k caps
  claimed by one client; more than 1000 → 422.
* ``source-plumes-csv/{key}``: the 2026-07 behaviour — any key that is not a UUID gets
  ``400 "<key>" is not a valid UUID``; a UUID matches no source (the source UUID was never
  observed), so it answers 404.
* ``/catalog/scenes``: always 401 (staff-only; standard accounts and anonymous callers alike).
* ``sources-csv``: the ``sources.geojson`` selection in the 2026-09 column order, names without
  the stray ``?`` suffix, ``ipcc_sector`` verbose.
* ``eps`` / ``minpoints`` are validated but not applied: the world's clusters are fixed.
* ``source/{name}`` accepts (and validates) the filter set but, like the observed detail, lists
  every attributed plume.
* ``/catalog/plume/{key}``: a UUID or a colloquial plume id; anything matching neither grammar
  is 422, a well-formed unknown key 404.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from cm_assets.replica import plume_records, scene_records, source_stats
from cm_assets.replica.csv_out import render_csv
from cm_assets.replica.errors import HTTPError, not_found
from cm_assets.replica.filters import (GASES, INSTRUMENTS, PLUME_SORTS, SCENE_SORTS, page,
                                       plume_query)
from cm_assets.replica.params import FieldError, QueryParams, validation_error
from cm_assets.replica.query import select_plumes, select_scenes, to_ns
from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Request, Response, Router, json_response

SOURCE_CSV_COLUMNS = ("source_name", "source_latitude", "source_longitude", "gas",
                      "observation_date_count", "detection_date_count", "source_persistence",
                      "source_emission", "source_emission_uncertainty", "ipcc_sector")
PLUME_ID = re.compile(r"^[A-Za-z0-9]{3}\d{8}t\d{6}[a-z0-9]*-[A-Z0-9]+$")
CSV_TYPE = "text/csv; charset=utf-8"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _source_csv_row(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    return {"source_name": props["source_name"].split("?", 1)[0],
            "source_latitude": f"{lat:.5f}", "source_longitude": f"{lon:.5f}",
            "gas": props["gas"], "observation_date_count": props["observation_date_count"],
            "detection_date_count": props["detection_date_count"],
            "source_persistence": props["persistence"], "source_emission": props["emission_auto"],
            "source_emission_uncertainty": props["emission_uncertainty_auto"],
            "ipcc_sector": plume_records.SECTOR_NAMES.get(props["sector"], props["sector"])}


def _csv_response(body: bytes, count: int, limit: int, offset: int,
                  filename: str) -> Response:
    return Response(200, body, CSV_TYPE, {
        "pagination-count": str(count), "pagination-limit": str(limit),
        "pagination-offset": str(offset),
        "Content-Disposition": f'attachment; filename="{filename}"'})


def register(router: Router, state: ReplicaState, prefix: str) -> None:
    """Add the catalog routes under ``prefix`` (``/api/v1``)."""
    cat = f"{prefix}/catalog"

    def asset_url(path: str) -> str:
        return state.signer.sign(path if path.startswith("/") else "/" + path)

    def plumes_annotated(request: Request) -> Response:
        q = QueryParams(request.query)
        sort = q.enum("sort", PLUME_SORTS) or "desc"
        limit, offset = page(q, 100, 1000)
        query = plume_query(q, sort)
        q.check()
        now = state.clock.now()
        with state.lock:
            rows = select_plumes(state.world, query, now)
            items = [plume_records.plume_record(state.world, int(r), asset_url)
                     for r in rows[offset:offset + limit]]
        items = state.corruptions.items(items) if state.corruptions else items
        total = int(len(rows))
        return json_response({"items": items, "total_count": total, "bbox_count": total,
                              "limit": limit, "offset": offset, "nearby_items": []})

    def plume(request: Request, key: str) -> Response:
        if not (_is_uuid(key) or PLUME_ID.match(key)):
            raise validation_error([FieldError(("path", "plume_id"),
                                               "Value error, not a plume id or UUID",
                                               "value_error")])
        now = state.clock.now()
        with state.lock:
            row = state.world.plume_index(key)
            if row is None or state.world.arrays()["published"][row] > to_ns(now):
                raise not_found()
            item = plume_records.plume_record(state.world, row, asset_url)
        served = state.corruptions.items([item]) if state.corruptions else [item]
        return json_response(served[0])

    def plume_csv(request: Request) -> Response:
        q = QueryParams(request.query)
        sort = q.enum("sort", PLUME_SORTS) or "desc"
        limit, offset = page(q, 500, 1000)
        excluded = set(q.enums("exclude_columns", plume_records.PLUME_CSV_COLUMNS) or ())
        query = plume_query(q, sort)
        q.check()
        now = state.clock.now()
        columns = [c for c in plume_records.PLUME_CSV_COLUMNS if c not in excluded]
        with state.lock:
            rows = select_plumes(state.world, query, now)
            body = render_csv(columns, (plume_records.plume_csv_row(state.world, int(r), asset_url)
                                        for r in rows[offset:offset + limit]))
        return _csv_response(body, len(rows), limit, offset, "plumes.csv")

    def source_features(request: Request) -> list[dict]:
        """The source listing for a request's filters (``eps``/``minpoints`` validated only)."""
        q = QueryParams(request.query)
        query = plume_query(q)
        q.number("eps")
        q.integer("minpoints")
        q.check()
        with state.lock:
            return source_stats.source_features(state.world, query, state.clock.now())

    def sources_geojson(request: Request) -> Response:
        return json_response({"type": "FeatureCollection", "features": source_features(request)},
                             content_type="application/geo+json")

    def sources_csv(request: Request) -> Response:
        features = source_features(request)
        body = render_csv(SOURCE_CSV_COLUMNS, (_source_csv_row(f) for f in features))
        return Response(200, body, CSV_TYPE,
                        {"Content-Disposition": 'attachment; filename="sources.csv"'})

    def source(request: Request, name: str) -> Response:
        q = QueryParams(request.query)
        plume_query(q)
        q.check()
        with state.lock:
            detail = source_stats.source_detail(state.world, name, state.clock.now(), asset_url)
        if detail is None:
            raise not_found()
        return json_response(detail)

    def source_for_plume(request: Request, key: str) -> Response:
        now = state.clock.now()
        with state.lock:
            name = source_stats.source_for_plume(state.world, key, now)
            detail = None if name is None else source_stats.source_detail(state.world, name, now,
                                                                      asset_url)
        if detail is None:
            raise not_found()
        return json_response(detail)

    def source_for_plume_uuid(request: Request, key: str) -> Response:
        if not _is_uuid(key):
            raise validation_error([FieldError(("path", "plume_uuid"),
                                               "Input should be a valid UUID", "uuid_parsing")])
        return source_for_plume(request, key)

    def source_plumes_csv(request: Request, key: str) -> Response:
        if not _is_uuid(key):
            raise HTTPError(400, f'"{key}" is not a valid UUID',
                            content_type="text/plain; charset=utf-8")
        raise not_found()

    def scenes_annotated(request: Request) -> Response:
        q = QueryParams(request.query)
        q.enum("sort", SCENE_SORTS)
        limit, offset = page(q, 100, 100)
        instruments = q.enums("instruments", INSTRUMENTS)
        gas = q.enum("plume_gas", GASES)
        bbox = q.bbox_repeated("bbox")
        observed = q.interval("datetime")
        q.boolean("not_cloudy")
        q.check()
        now = state.clock.now()
        with state.lock:
            rows = select_scenes(state.world, bbox, observed,
                                 tuple(instruments) if instruments else None, gas, now)
            if q.string("sort") == "desc":
                rows = rows[::-1]
            items = [scene_records.scene_annotated(state.world, int(r), now)
                     for r in rows[offset:offset + limit]]
        return json_response({"items": items, "count": int(len(rows))})

    def scenes(request: Request) -> Response:
        raise HTTPError(401, {"detail": "Unauthorized"})

    router.add("GET", f"{cat}/plumes/annotated", plumes_annotated, "catalog")
    router.add("GET", f"{cat}/plume/{{key}}", plume, "catalog")
    router.add("GET", f"{cat}/plume-csv", plume_csv, "catalog")
    router.add("GET", f"{cat}/sources.geojson", sources_geojson, "catalog")
    router.add("GET", f"{cat}/sources-csv", sources_csv, "catalog")
    router.add("GET", f"{cat}/source/plume/name/{{key}}", source_for_plume, "catalog")
    router.add("GET", f"{cat}/source/plume/{{key}}", source_for_plume_uuid, "catalog")
    router.add("GET", f"{cat}/source/{{name}}", source, "catalog")
    router.add("GET", f"{cat}/source-plumes-csv/{{key}}", source_plumes_csv, "catalog")
    router.add("GET", f"{cat}/scenes/annotated", scenes_annotated, "catalog")
    router.add("GET", f"{cat}/scenes", scenes, "catalog")
