"""A small HTTP framework on the standard library: requests, responses, routing, Range.

Routes are ``(method, path template, handler, route_class, auth)``, matched by Starlette's
routing (``/plume/{key}``, ``{key:path}``); handlers take the request plus the path parameters and return a :class:`Response` or raise :class:`HTTPError`. ``GET`` routes answer
``HEAD`` too. File responses honour a single ``Range`` (``bytes=a-b``, ``bytes=a-``,
``bytes=-n``); multi-range requests get the whole file (200), as RFC 9110 allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from starlette.routing import Match
from starlette.routing import Route as StarletteRoute

from cm_assets.replica.errors import HTTPError

AuthMode = Literal["none", "optional", "required"]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Request:
    """One parsed request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive lookups (http.server Message, Starlette Headers)
    body: bytes
    client: str
    claims: dict[str, Any] | None = None

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPError(400, {"detail": "Cannot parse request body"}) from exc


@dataclass
class Response:
    """A response with an in-memory body or a file (optionally a byte range of it)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    file_range: tuple[int, int] | None = None

    @property
    def length(self) -> int:
        if self.file is None:
            return len(self.body)
        start, end = self.file_range or (0, self.file.stat().st_size - 1)
        return max(0, end - start + 1)


def json_response(payload: Any, status: int = 200, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return Response(status, body, content_type, dict(headers or {}))


def error_response(error: HTTPError) -> Response:
    if isinstance(error.body, bytes):
        body = error.body
        content_type = error.content_type or "application/octet-stream"
    elif isinstance(error.body, str):
        body = error.body.encode()
        content_type = error.content_type or "text/plain; charset=utf-8"
    else:
        body = json.dumps(error.body, separators=(",", ":")).encode()
        content_type = error.content_type or "application/json"
    return Response(error.status, body, content_type, dict(error.headers))


def file_response(path: Path, media_type: str, range_header: str | None) -> Response:
    """200 for the whole file or 206 for one satisfiable range; 416 when unsatisfiable."""
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes"}
    match = _RANGE.match((range_header or "").strip())
    if not match or (not match[1] and not match[2]):
        return Response(200, content_type=media_type, headers=headers, file=path)
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
        if match[2] and int(match[2]) < start:
            return Response(200, content_type=media_type, headers=headers, file=path)
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start >= size or size == 0:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(416, b"", media_type, headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(206, content_type=media_type, headers=headers, file=path,
                    file_range=(start, end))


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """A handler, its path template (Starlette syntax: ``/plume/{key}``), class and auth mode."""

    method: str
    template: StarletteRoute
    handler: Handler
    route_class: str
    auth: AuthMode


def _unused_endpoint(request: Any) -> None:
    """Placeholder: Starlette's route only matches here; the replica calls ``Route.handler``."""


class Router:
    """Ordered route table matched by Starlette's path templates."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler, route_class: str,
            auth: AuthMode = "optional") -> None:
        template = StarletteRoute(path, _unused_endpoint, methods=[method])
        self.routes.append(Route(method, template, handler, route_class, auth))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for (method, path); raises 405 when only the method differs.

        ``GET`` routes answer ``HEAD`` too (Starlette adds it to every ``GET`` route).
        """
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        path_matched = False
        for route in self.routes:
            found, child = route.template.matches(scope)
            if found is Match.FULL:
                return route, child["path_params"]
            path_matched = path_matched or found is Match.PARTIAL
        if path_matched:
            raise HTTPError(405, {"detail": "Method Not Allowed"})
        return None
