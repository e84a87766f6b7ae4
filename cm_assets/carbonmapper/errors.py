"""Exception hierarchy of the Carbon Mapper client.

Messages carry a status and a URL *path* only: never a query string (signed URLs), never a token.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` without userinfo, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


class CarbonMapperError(Exception):
    """Base class of every error raised by :mod:`cm_assets.carbonmapper`."""


class ApiError(CarbonMapperError):
    """An HTTP error answer (or no answer at all: ``status is None``) after retries."""

    def __init__(self, status: int | None, url: str, method: str = "GET", detail: str = "") -> None:
        self.status = status
        self.url = redact_url(url)
        self.method = method
        self.detail = detail
        what = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{method} {self.url}: {what}{f' ({detail})' if detail else ''}")


class AuthenticationError(ApiError):
    """401/403 from the API, or credentials that cannot produce a token."""


class RateLimited(ApiError):
    """429 answers outlasted the retry policy; ``retry_after`` is the last server hint (s)."""

    def __init__(self, url: str, method: str = "GET", retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(429, url, method, "rate limited, retries exhausted")


class PlumeNotFound(CarbonMapperError, LookupError):
    """No plume with this id (UUID or colloquial name)."""

    def __init__(self, plume_id: str) -> None:
        self.plume_id = plume_id
        super().__init__(f"plume not found: {plume_id}")


class SourceNotFound(CarbonMapperError, LookupError):
    """No source with this name (names change when sources are re-clustered)."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name
        super().__init__(f"source not found: {source_name}")


class SceneNotPublished(CarbonMapperError, LookupError):
    """The L2B scene is in none of the candidate collections (yet)."""

    def __init__(self, scene_name: str, tried: tuple[str, ...] = ()) -> None:
        self.scene_name = scene_name
        self.tried = tried
        super().__init__(f"scene {scene_name} not published in: {', '.join(tried) or 'any collection'}")


class ProductNotAvailable(CarbonMapperError, LookupError):
    """One asset of a plume or scene does not exist (404/403) or has no URL."""

    def __init__(self, key: str, url: str | None = None, status: int | None = None) -> None:
        self.key = key
        self.url = redact_url(url) if url else None
        self.status = status
        where = f" at {self.url}" if self.url else ""
        super().__init__(f"product {key!r} not available{where}{f' (HTTP {status})' if status else ''}")


class NoOverlap(CarbonMapperError, ValueError):
    """A crop geometry does not intersect the raster."""


class NotGeoreferenced(CarbonMapperError, ValueError):
    """A raster without a CRS (the ``*-unortho`` raw sensor frames) asked for a geographic read."""


class RecordError(CarbonMapperError, ValueError):
    """An upstream record that does not parse; carries what the pipeline needs to quarantine it."""

    def __init__(self, field: str, reason: str, payload: Any, plume_id: str | None = None,
                 kind: str = "plume") -> None:
        self.field = field
        self.reason = reason
        self.payload = payload
        self.plume_id = plume_id
        self.kind = kind
        ident = f" {plume_id}" if plume_id else ""
        super().__init__(f"{kind} record{ident}: field {field!r}: {reason}")


def is_run_wide(error: BaseException) -> bool:
    """Whether ``error`` concerns the whole run rather than one record or file: credentials refused,
    rate limiting that outlasted the retries, or no answer at all from the API after retries."""
    if isinstance(error, (AuthenticationError, RateLimited)):
        return True
    return isinstance(error, ApiError) and error.status is None


_URL_QUERY = re.compile(r"((?:https?|/vsicurl/https?)://[^\s?'\"]+)\?[^\s'\"]*")


def describe(error: BaseException) -> str:
    """``Type: message`` of one per-item failure, with query strings (signatures) cut from URLs."""
    return _URL_QUERY.sub(r"\1", f"{type(error).__name__}: {error}")
