"""The exception every route raises to produce a non-2xx response."""

from __future__ import annotations

from typing import Any


class HTTPError(Exception):
    """An HTTP error with a JSON (dict/list) or text body and optional extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None,
                 content_type: str | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type


def not_found() -> HTTPError:
    """Django Ninja's 404."""
    return HTTPError(404, {"detail": "Not Found"})
