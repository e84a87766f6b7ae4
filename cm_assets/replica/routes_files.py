"""File serving: the Bearer-gated asset proxy ``/catalog/asset/{key}`` and the signed CDN origin.

Both resolve ``{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}`` through
``RasterStore.resolve(collection, item, key, now)``; the file is generated on first use and
served from the disk cache after that, with ``Accept-Ranges: bytes`` and single-range 206s.

Proxy statuses follow the 2026-07 probes: 404 for an unknown collection or a path that breaks
the grammar, 403 when the collection exists but does not hold the item, 404 for an optional
asset absent for that item. On the CDN, a bad or expired signature is a CloudFront-style 403
XML body; an unknown object is the S3-style XML 404 (``NoSuchKey``) or 403 (``AccessDenied``).
"""

from __future__ import annotations

from cm_assets.replica.cdn import denied_body, parse_asset_path, xml_error_body
from cm_assets.replica.errors import HTTPError, not_found
from cm_assets.replica.rasters import AssetError
from cm_assets.replica.server import ReplicaState
from cm_assets.replica.web import Request, Response, Router, file_response


def _xml_error(status: int, code: str, message: str) -> HTTPError:
    return HTTPError(status, xml_error_body(code, message), content_type="application/xml")


def register(router: Router, state: ReplicaState, prefix: str) -> None:
    """Add the asset proxy under ``prefix`` (``/api/v1``)."""

    def proxy(request: Request, key: str) -> Response:
        ref = parse_asset_path("/" + key)
        if ref is None:
            raise not_found()
        garbage = state.corruptions.garbage_file(key) if state.corruptions else None
        try:
            path = garbage or state.rasters.resolve(ref.collection, ref.item_id, ref.key,
                                                    state.clock.now())
        except AssetError as exc:
            detail = "Forbidden" if exc.status == 403 else "Not Found"
            raise HTTPError(exc.status, {"detail": detail}) from exc
        return file_response(path, state.rasters.media_type(ref.key),
                             request.headers.get("Range"))

    router.add("GET", f"{prefix}/catalog/asset/{{key:path}}", proxy, "asset", auth="required")


def register_cdn(router: Router, state: ReplicaState) -> None:
    """Add the signed-URL route of the CDN origin."""

    def cdn(request: Request, path: str) -> Response:
        if not path:
            raise not_found()
        path = "/" + path
        denial = state.signer.check(path, request.query)
        if denial is not None:
            raise HTTPError(403, denied_body(denial), content_type="application/xml")
        ref = parse_asset_path(path)
        if ref is None:
            raise _xml_error(404, "NoSuchKey", "The specified key does not exist.")
        garbage = state.corruptions.garbage_file(path) if state.corruptions else None
        try:
            file = garbage or state.rasters.resolve(ref.collection, ref.item_id, ref.key,
                                                    state.clock.now())
        except AssetError as exc:
            if exc.status == 403:
                raise _xml_error(403, "AccessDenied", "Access Denied") from exc
            raise _xml_error(404, "NoSuchKey", "The specified key does not exist.") from exc
        return file_response(file, state.rasters.media_type(ref.key),
                             request.headers.get("Range"))

    router.add("GET", "/{path:path}", cdn, "cdn", auth="none")
