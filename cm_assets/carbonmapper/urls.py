"""Asset URL grammar (spec §7): parsing, CDN → proxy rewrite, L3A and L2B derivation.

Every asset lives at ``{base}/{collection}/{YYYY}/{MM}/{DD}/{item}/{item}_{collection}_{key}``
where ``base`` is the signed CDN, the Bearer-gated proxy ``{api}/catalog/asset`` or another host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cm_assets.carbonmapper.enums import CollectionId

_FILE = re.compile(r"^(?P<item>.+?)_(?P<collection>l\d[a-z0-9-]*?)_(?P<key>[A-Za-z0-9][\w.-]*)$")
_SIGNED_KEYS = frozenset({"Expires", "Signature"})
PROXY_PATH = "/catalog/asset"


@dataclass(frozen=True)
class AssetRef:
    """The host-independent identity of one asset."""

    collection: str
    item_id: str
    key: str

    @property
    def path(self) -> str:
        date = item_date(self.item_id)
        return (f"{self.collection}/{date[:4]}/{date[4:6]}/{date[6:8]}/"
                f"{self.item_id}/{self.item_id}_{self.collection}_{self.key}")

    def with_key(self, key: str) -> AssetRef:
        return replace(self, key=key)

    def with_collection(self, collection: str | CollectionId) -> AssetRef:
        return replace(self, collection=str(collection))


def item_date(item_id: str) -> str:
    """``YYYYMMDD`` of a scene or plume id (characters 3..10, every instrument)."""
    date = item_id[3:11]
    if len(date) != 8 or not date.isdigit():
        raise ValueError(f"no acquisition date in item id {item_id!r}")
    return date


@dataclass(frozen=True)
class AssetUrl:
    """A parsed asset URL: its base (everything before the grammar), its ref and its query."""

    base: str
    ref: AssetRef
    query: str = ""

    @property
    def is_signed(self) -> bool:
        return _SIGNED_KEYS <= set(parse_qs(self.query))

    def __str__(self) -> str:
        return f"{self.base}/{self.ref.path}" + (f"?{self.query}" if self.query else "")


def _plain_http(url: str) -> bool:
    """Whether ``url`` is an http(s) URL without the characters urlsplit strips or rewrites, so
    that cutting it with ``str`` methods gives what urlsplit gives."""
    return url.startswith(("https://", "http://")) and url.isprintable() and " " not in url


def _origin_path_query(url: str) -> tuple[str, str, str]:
    """``scheme://netloc``, path and query of ``url``, as urlsplit gives them (by ``str`` methods,
    ~5× faster, for plain http(s) URLs without IPv6 brackets; ``origin`` is "" without a scheme).
    ValueError when urlsplit refuses the URL."""
    if _plain_http(url) and "[" not in url and "]" not in url:
        rest, _, query = url.split("#", 1)[0].partition("?")
        slash = rest.find("/", rest.index("//") + 2)
        return (rest, "", query) if slash < 0 else (rest[:slash], rest[slash:], query)
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""), parts.path, parts.query


def parse_asset_url(url: str) -> AssetUrl | None:
    """Split a URL following the asset grammar; None when it does not (or is no valid URL)."""
    try:
        origin, path, query = _origin_path_query(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket in the host
        return None
    segments = path.rsplit("/", 6)
    if len(segments) < 7:
        return None
    base_path, collection, year, month, day, item, filename = segments
    match = _FILE.match(filename)
    if not match or match["item"] != item or match["collection"] != collection:
        return None
    if f"{year}{month}{day}" != item[3:11]:
        return None
    return AssetUrl(origin + base_path, AssetRef(collection, item, match["key"]), query)


class AssetUrls:
    """Maps record URLs and refs to the URLs the client fetches.

    Signed CDN URLs expire, so they are rewritten to the stable proxy form on the API host when
    the client holds credentials; an URL already in proxy form is kept (never a doubled prefix);
    any other host keeps its base and receives no token.
    """

    def __init__(self, api_url: str, *, rewrite_signed: bool = True) -> None:
        self.proxy_base = api_url.rstrip("/") + PROXY_PATH
        self.rewrite_signed = rewrite_signed

    def proxy(self, ref: AssetRef) -> str:
        return f"{self.proxy_base}/{ref.path}"

    def resolve(self, url: str) -> str:
        """The URL to fetch for an asset URL found in a record or STAC item."""
        parsed = parse_asset_url(url)
        if parsed is None:
            return url
        if parsed.base.endswith(PROXY_PATH) or (parsed.is_signed and self.rewrite_signed):
            return self.proxy(parsed.ref)
        return url

    def sibling(self, url: str, ref: AssetRef) -> str:
        """The URL of ``ref`` on the same host family as ``url`` (signatures never reused)."""
        parsed = parse_asset_url(url)
        if parsed is None:
            raise ValueError(f"not an asset URL: {url!r}")
        if parsed.base.endswith(PROXY_PATH) or parsed.is_signed:
            return self.proxy(ref)
        return f"{parsed.base}/{ref.path}"


def strip_signature(url: object) -> str | None:
    """A signed CDN URL without its query string (signatures expire and are credentials)."""
    if not url:
        return None
    text = str(url)
    if _plain_http(text):
        return text.split("#", 1)[0].split("?", 1)[0]  # what urlsplit/urlunsplit give, ~10× faster
    parts = urlsplit(text)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
