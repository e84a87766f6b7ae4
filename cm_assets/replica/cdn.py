"""Asset URL grammar and the signed CDN (CloudFront-like) URLs.

Every asset path follows ``/{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}``
where the date is characters 3..10 of the item id. CDN URLs append
``?Expires=<epoch>&Signature=<sig>&Key-Pair-Id=<id>``; the signature is an HMAC-SHA256 of
``path + "\\n" + expires`` under a server secret (CloudFront uses RSA; the replica only needs
tamper and expiry checks). Expiry uses the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

KEY_PAIR_ID = "K3CMREPLICA0001"
_PATH = re.compile(
    r"^/(?P<collection>[a-z0-9][a-z0-9-]*)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P<item>[A-Za-z0-9-]+)/(?P<file>[^/]+)$")


@dataclass(frozen=True)
class AssetRef:
    """A parsed asset path."""

    collection: str
    item_id: str
    key: str


def parse_asset_path(path: str) -> AssetRef | None:
    """Split an asset path into (collection, item, key); None when it breaks the grammar."""
    match = _PATH.match(path)
    if not match:
        return None
    item, collection, name = match["item"], match["collection"], match["file"]
    prefix = f"{item}_{collection}_"
    if not name.startswith(prefix) or len(name) == len(prefix):
        return None
    if item[3:11] != f"{match['y']}{match['m']}{match['d']}":
        return None
    return AssetRef(collection, item, name[len(prefix):])


class CdnSigner:
    """Signs and verifies CDN URLs for one base URL."""

    def __init__(self, secret: bytes, base_url: str, lifetime_s: int = 3600) -> None:
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.lifetime_s = lifetime_s

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().replace("+", "-").replace("=", "_") \
            .replace("/", "~")

    def sign(self, path: str) -> str:
        """A signed URL for ``path`` valid for ``lifetime_s`` seconds from now."""
        expires = int(time.time()) + self.lifetime_s
        query = urlencode({"Expires": expires, "Signature": self._signature(path, expires),
                           "Key-Pair-Id": KEY_PAIR_ID})
        return f"{self.base_url}{quote(path)}?{query}"

    def check(self, path: str, query: dict[str, list[str]]) -> str | None:
        """None when the query signs ``path`` and has not expired, else the denial message."""
        expires = (query.get("Expires") or [""])[-1]
        signature = (query.get("Signature") or [""])[-1]
        key_pair = (query.get("Key-Pair-Id") or [""])[-1]
        if not key_pair:
            return "Missing Key-Pair-Id query parameter or cookie value"
        if not expires or not signature:
            return "Missing Key"
        if key_pair != KEY_PAIR_ID:
            return "Unknown Key"
        try:
            expires_at = int(expires)
        except ValueError:
            return "Invalid Expires"
        if not hmac.compare_digest(signature, self._signature(path, expires_at)):
            return "Access denied"
        if expires_at < time.time():
            return "Request has expired"
        return None


def xml_error_body(code: str, message: str) -> bytes:
    """An S3/CloudFront-style XML error body."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()


def denied_body(message: str) -> bytes:
    """CloudFront's XML error body."""
    return xml_error_body("AccessDenied", message)
