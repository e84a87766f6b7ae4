"""``CarbonMapperClient``: typed queries over the REST catalog and STAC, products and scenes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from itertools import islice
from typing import Any
from urllib.parse import quote

from cm_assets.carbonmapper.budget import BudgetSpec
from cm_assets.carbonmapper.cog_ranges import HEADER_BYTES
from cm_assets.carbonmapper.files import FileIO
from cm_assets.carbonmapper.config import ClientConfig, Credentials
from cm_assets.carbonmapper.enums import CollectionId, Gas, Instrument, Sector, version_key
from cm_assets.carbonmapper.errors import (ApiError, PlumeNotFound, SceneNotPublished,
                                           SourceNotFound)
from cm_assets.carbonmapper.models import (PlumeCsvRow, PlumeRecord, SceneFootprint, SceneItem,
                                           SourceDetail, SourceSummary, compact_instant, strip_source_name)
from cm_assets.carbonmapper.products import (PlumeProducts, derive_plume_urls, urls_from_stac_items,
                                             vis_cmf_type)
from cm_assets.carbonmapper.query import (Interval, Params, check_bbox, format_interval,
                                          plume_filters)
from cm_assets.carbonmapper.ratelimit import RatePolicy
from cm_assets.carbonmapper.scenes import L2B_ASSETS, SceneRaster, derive_scene_urls, rgb_candidates
from cm_assets.carbonmapper.transport import RetryPolicy, Timeouts, Transport
from cm_assets.carbonmapper.urls import AssetUrls, parse_asset_url

log = logging.getLogger("cm_assets.carbonmapper")

MAX_PLUME_PAGE = 1000
MAX_STAC_PAGE = 100
MAX_SCENE_PAGE = 100
#: L2B versions probed for a scene absent from STAC (besides the record's own).
L2B_VERSIONS = ("v1", "v3", "v3a", "v3b", "v3c", "v3d", "v3e")


class CarbonMapperClient:
    """A client of the Carbon Mapper API (or its local replica: same code, another base URL).

    One pooled HTTP session; retries and token renewal live in :class:`Transport`. Plume
    ``filters`` everywhere are the keyword arguments of :func:`~.query.plume_filters`: ``gas``,
    ``instruments``, ``observed``/``published``/``modified`` intervals ``(start, end)`` (None =
    open), ``bbox`` (W, S, E, N), ``sectors``, ``emission_min``/``emission_max``, ``qualities``,
    ``status`` (default ``"published"``), ``plume_names``, ``source_name``, ``sort`` (``"asc"``).
    Listings take ``limit`` (at most that many items; None = all), as the seed's reader does.
    """

    def __init__(self, api_url: str | None = None, *, token: str | None = None,
                 email: str | None = None, password: str | None = None,
                 config: ClientConfig | None = None, retry: RetryPolicy | None = None,
                 timeouts: Timeouts | None = None, rate: RatePolicy | None = None,
                 budget: BudgetSpec | None = None) -> None:
        if config is None:
            creds = Credentials.of(token=token, email=email, password=password)
            config = ClientConfig(api_url, creds) if api_url else ClientConfig(credentials=creds)
        if budget is not None:
            config = replace(config, budget=budget)
        self.config = config
        self.transport = Transport(config, retry=retry, timeouts=timeouts, rate=rate)
        self.asset_urls = AssetUrls(config.api_url, rewrite_signed=self.transport.has_credentials)
        self.assets = FileIO(self.transport)

    @classmethod
    def from_env(cls, *, retry: RetryPolicy | None = None, timeouts: Timeouts | None = None,
                 **overrides: str | None) -> CarbonMapperClient:
        """``CARBONMAPPER_API_URL`` + ``CARBONMAPPER_TOKEN`` or ``_EMAIL``/``_PASSWORD``."""
        return cls(config=ClientConfig.from_env(**overrides), retry=retry, timeouts=timeouts)

    @property
    def api_url(self) -> str:
        return self.config.api_url

    def __repr__(self) -> str:
        return f"CarbonMapperClient({self.transport!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> CarbonMapperClient:
        return self

    def api_now(self) -> dt.datetime:
        """The API's current time, from its ``Date`` header (one small catalog request if no
        response has been seen yet)."""
        if not self.transport.knows_api_clock:
            self.count_plumes()
        return self.transport.api_now()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumes ----------------------------------------------------------------------------

    def iter_plume_payloads(self, *, page_size: int = MAX_PLUME_PAGE, limit: int | None = None,
                            **filters: Any) -> Iterator[dict]:
        """Raw plume records from ``/catalog/plumes/annotated``, page by page until ``total_count``
        (or ``limit`` records: pages are then no larger than needed)."""
        params = plume_filters(**filters)
        size = _page_size(page_size, MAX_PLUME_PAGE)
        offset = 0
        while True:
            wanted = size if limit is None else min(size, _limit(limit) - offset)
            if wanted <= 0:
                return
            page = self.transport.get_json("/catalog/plumes/annotated",
                                           params + [("limit", str(wanted)), ("offset", str(offset))])
            items, total = _envelope(page, "total_count", "/catalog/plumes/annotated")
            log.debug("plumes page offset=%d: %d of %d", offset, len(items), total)
            yield from items[:wanted]
            offset += len(items)
            if not items or offset >= total:
                return

    def iter_plumes(self, **filters: Any) -> Iterator[PlumeRecord]:
        """Typed records; a record that does not parse raises :class:`RecordError`."""
        for payload in self.iter_plume_payloads(**filters):
            yield PlumeRecord.parse(payload)

    def list_plumes(self, **filters: Any) -> list[PlumeRecord]:
        """``iter_plumes`` as a list (the seed's ``list_plumes``; pass ``limit`` for a first page)."""
        return list(self.iter_plumes(**filters))

    def count_plumes(self, **filters: Any) -> int:
        page = self.transport.get_json("/catalog/plumes/annotated",
                                       plume_filters(**filters) + [("limit", "1"), ("offset", "0")])
        return _envelope(page, "total_count", "/catalog/plumes/annotated")[1]

    def get_plume_payload(self, plume_id: str) -> dict[str, Any]:
        """The raw record by UUID or colloquial id; :class:`PlumeNotFound` on 404."""
        payload = self.transport.get_json(f"/catalog/plume/{quote(plume_id, safe='')}",
                                          passthrough=(404,))
        if payload is None:
            raise PlumeNotFound(plume_id)
        return payload

    def get_plume(self, plume_id: str) -> PlumeRecord:
        return PlumeRecord.parse(self.get_plume_payload(plume_id))

    def iter_plumes_csv(self, *, page_size: int = MAX_PLUME_PAGE, limit: int | None = None,
                        **filters: Any) -> Iterator[PlumeCsvRow]:
        """Rows of ``/catalog/plume-csv``, paged with the ``pagination-*`` response headers."""
        if limit is not None:
            yield from islice(self.iter_plumes_csv(page_size=max(1, min(page_size, _limit(limit))), **filters), limit)
            return
        params = plume_filters(**filters)
        limit = _page_size(page_size, MAX_PLUME_PAGE)
        offset = 0
        while True:
            response = self.transport.request(
                "GET", "/catalog/plume-csv", headers={"Accept": "text/csv"},
                params=params + [("limit", str(limit)), ("offset", str(offset))])
            text = response.content.decode("utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            for row in rows:
                yield PlumeCsvRow.parse(row)
            count = response.headers.get("pagination-count")
            offset += len(rows)
            if not rows or count is None or offset >= int(count):
                return

    # -- sources ---------------------------------------------------------------------------

    def list_sources(self, bbox: Sequence[float] | None = None, gas: Gas | str | None = None,
                     sectors: Iterable[Sector | str] | None = None, limit: int | None = None,
                     **filters: Any) -> list[SourceSummary]:
        """Every source of ``/catalog/sources.geojson`` (one unpaginated answer; the first ``limit``)."""
        params = plume_filters(gas=gas, bbox=bbox, sectors=sectors, status=filters.pop("status", None),
                               sort=None, **filters)
        body = self.transport.get_json("/catalog/sources.geojson", params)
        features = body.get("features") if isinstance(body, dict) else None
        if features is None:
            raise ApiError(200, self.transport.url("/catalog/sources.geojson"), detail="no features")
        return [SourceSummary.from_feature(f) for f in features[:_limit(limit) if limit is not None else None]]

    def get_source(self, name: str) -> SourceDetail:
        """Source detail by name (a stray ``?…`` suffix is stripped); :class:`SourceNotFound`."""
        clean = strip_source_name(name)
        payload = self.transport.get_json(f"/catalog/source/{quote(clean, safe='')}",
                                          passthrough=(404,))
        if payload is None:
            raise SourceNotFound(clean)
        return SourceDetail.from_payload(payload)

    def source_for_plume(self, plume_id: str) -> SourceDetail | None:
        """The source a plume is attributed to, or None (not clustered yet)."""
        payload = self.transport.get_json(
            f"/catalog/source/plume/name/{quote(plume_id, safe='')}", passthrough=(404,))
        if not isinstance(payload, dict) or not payload.get("source_name"):
            return None
        return SourceDetail.from_payload(payload)

    def plumes_for_source(self, name: str) -> list[PlumeRecord]:
        """Every plume attributed to a source: the detail's embedded ``plumes`` (spec §4.11)."""
        return self.get_source(name).plumes

    # -- scenes ----------------------------------------------------------------------------

    def search_scenes(self, collections: str | Sequence[str], bbox: Sequence[float] | None = None,
                      datetime: Interval | None = None, ids: Sequence[str] | None = None,
                      page_size: int = MAX_STAC_PAGE, limit: int | None = None) -> Iterator[SceneItem]:
        """STAC items from ``GET /stac/search`` (comma-joined lists; next links or offsets)."""
        if limit is not None:
            yield from islice(self.search_scenes(collections, bbox, datetime, ids,
                                                 max(1, min(page_size, _limit(limit)))), limit)
            return
        if ids is not None and len(ids) > MAX_STAC_PAGE:
            for start in range(0, len(ids), MAX_STAC_PAGE):
                yield from self.search_scenes(collections, bbox, datetime,
                                              ids[start:start + MAX_STAC_PAGE], page_size)
            return
        limit = _page_size(page_size, MAX_STAC_PAGE)
        params: Params = [("collections", collections if isinstance(collections, str)
                           else ",".join(collections)), ("limit", str(limit))]
        if ids:
            params.append(("ids", ",".join(ids)))
        if bbox is not None:
            params.append(("bbox", ",".join(repr(v) for v in check_bbox(bbox))))
        if datetime is not None:
            params.append(("datetime", format_interval(datetime)))
        url: str = "/stac/search"
        query: Params | None = params
        offset = 0
        while True:
            page = self.transport.get_json(url, None if query is None else
                                           query + [("offset", str(offset))])
            features = page.get("features") or []
            for feature in features:
                yield SceneItem.from_stac_item(feature)
            offset += len(features)
            nxt = next((ln.get("href") for ln in page.get("links") or []
                        if ln.get("rel") == "next" and ln.get("href")), None)
            matched = page.get("numberMatched", (page.get("context") or {}).get("matched"))
            if not features or (matched is not None and offset >= int(matched)):
                return
            if nxt:
                url, query = nxt, None
            elif len(features) < limit:
                return

    def get_stac_item(self, collection: str, item_id: str) -> dict[str, Any] | None:
        """One STAC item, or None on 404."""
        return self.transport.get_json(
            f"/stac/collections/{quote(collection, safe='')}/items/{quote(item_id, safe='')}",
            passthrough=(404,))

    def iter_scene_footprints(self, bbox: Sequence[float] | None = None,
                              observed: Interval | None = None,
                              instruments: Iterable[Instrument | str] | None = None,
                              gas: Gas | str | None = None,
                              limit: int | None = None) -> Iterator[SceneFootprint]:
        """Overpasses from ``/catalog/scenes/annotated`` (pages of 100, offset paging)."""
        if limit is not None:
            yield from islice(self.iter_scene_footprints(bbox, observed, instruments, gas), _limit(limit))
            return
        offset = 0
        while True:
            items, total = self.scene_footprint_page(offset, bbox, observed, instruments, gas)
            yield from items
            offset += len(items)
            if not items or offset >= total:
                return

    def scene_footprint_page(self, offset: int, bbox: Sequence[float] | None = None,
                             observed: Interval | None = None,
                             instruments: Iterable[Instrument | str] | None = None,
                             gas: Gas | str | None = None) -> tuple[list[SceneFootprint], int]:
        """One page (:data:`MAX_SCENE_PAGE` overpasses from ``offset``) of
        ``/catalog/scenes/annotated`` and the listing's total: the first page's total lets a caller
        ask for the remaining pages at once."""
        params = plume_filters(gas=gas, instruments=instruments, observed=observed, bbox=bbox,
                               status=None, sort="asc")
        page = self.transport.get_json("/catalog/scenes/annotated", params + [
            ("limit", str(MAX_SCENE_PAGE)), ("offset", str(offset))])
        items, total = _envelope(page, "count", "/catalog/scenes/annotated")
        return [SceneFootprint.parse(item) for item in items], total

    def scene_footprints_by_box(self, boxes: Sequence[Sequence[float]],
                                pool: Executor) -> list[list[SceneFootprint]]:
        """Every box's scene footprints (in ``boxes``' order), their pages in flight together on
        ``pool``: every box's first page at once, then all the remaining pages at once (a first page's
        total says how many). A box whose pages add up short of its total (an API paging by less
        than asked, or a listing changing meanwhile) is paged through again, one page after another."""
        firsts = list(pool.map(lambda bbox: self.scene_footprint_page(0, bbox), boxes))
        later = [[pool.submit(self.scene_footprint_page, offset, bbox)
                  for offset in range(MAX_SCENE_PAGE, total, MAX_SCENE_PAGE)] if len(items) == MAX_SCENE_PAGE else []
                 for bbox, (items, total) in zip(boxes, firsts)]
        listings = []
        for bbox, (items, total), pages in zip(boxes, firsts, later):
            scenes = items + [scene for page in pages for scene in page.result()[0]]
            listings.append(scenes if len(scenes) >= total else list(self.iter_scene_footprints(bbox=bbox)))
        return listings

    def tiles_for_source(self, name: str) -> list[SceneItem]:
        """STAC L2B items of the scenes in which a source's plumes were detected."""
        by_collection: dict[str, set[str]] = {}
        for plume in self.plumes_for_source(name):
            candidates = l2b_candidates(plume, self.asset_urls)
            if candidates:
                by_collection.setdefault(str(candidates[0]), set()).add(plume.scene_name)
        items: dict[str, SceneItem] = {}
        for collection, names in sorted(by_collection.items()):
            for item in self.search_scenes(collection, ids=sorted(names)):
                items.setdefault(item.scene_name, item)
        return sorted(items.values(), key=lambda i: i.scene_name)

    def scene_for_plume(self, plume: PlumeRecord | str, pool: Executor | None = None) -> SceneRaster:
        """The plume's L2B parent scene: STAC item first, else URL derivation + Range probes.

        Candidates: the record's own L2B collection, then older versions newest-first, then
        newer ones (then the same with alternative cmf types). Only 404/403 mean "not there";
        401, 429 and 5xx raise. With ``pool``, the candidates are looked up in waves of 1, 2, 4, …
        in flight together, the first in order that holds the scene winning: a scene not published
        yet (every candidate looked up) costs a few round trips instead of one per candidate, and a
        scene found at candidate k at most k − 1 look-ups more than one by one. ``pool`` must not
        be the pool the caller runs on (its look-ups would queue behind their own caller).
        """
        record = plume if isinstance(plume, PlumeRecord) else self.get_plume(plume)
        candidates = l2b_candidates(record, self.asset_urls)
        start, wave = 0, 1
        while start < len(candidates):
            batch = candidates[start:start + wave]
            lookups = pool.map if pool is not None and len(batch) > 1 else map
            for answer in lookups(lambda c: self._scene_in(record.scene_name, c), batch):
                if answer is not None:
                    return answer
            start, wave = start + wave, 2 * wave
        raise SceneNotPublished(record.scene_name, tuple(str(c) for c in candidates))

    def _scene_in(self, scene: str, collection: CollectionId) -> SceneRaster | None:
        """The scene in one L2B collection (its STAC item, else a Range probe of its cmf), or None."""
        urls = derive_scene_urls(scene, collection, self.asset_urls)
        alternates = {"rgb": rgb_candidates(scene, collection, self.asset_urls)}
        if collection.is_stac_resident:
            item = self.get_stac_item(str(collection), scene)
            if item is not None:
                scene_item = SceneItem.from_stac_item(item)
                for key, href in scene_item.asset_urls.items():
                    band = key.rsplit(".", 1)[0]
                    if band in L2B_ASSETS:
                        urls[band] = self.asset_urls.resolve(href)
                log.debug("%s: L2B found in STAC %s", scene, collection)
                return SceneRaster(scene_item, urls, self.assets, alternates)
        header = self.assets.probe(urls["cmf"], HEADER_BYTES)  # the probe is also the cmf header read
        if header is not None:
            log.debug("%s: L2B found by probing %s", scene, collection)
            return SceneRaster(_derived_item(scene, collection, urls), urls, self.assets, alternates,
                               headers={"cmf": header})
        return None

    # -- per-plume products ----------------------------------------------------------------

    def plume_products(self, plume_or_id: PlumeRecord | str) -> PlumeProducts:
        """The seven per-plume products (lazy; URLs derived locally from the record)."""
        record = plume_or_id if isinstance(plume_or_id, PlumeRecord) else self.get_plume(plume_or_id)
        return PlumeProducts(record.plume_id, derive_plume_urls(record, self.asset_urls),
                             self.assets, record)

    def plume_products_from_stac(self, vis_item: dict[str, Any],
                                 ime_item: dict[str, Any] | None = None) -> PlumeProducts:
        """Products from an L3A vis STAC item (and its ime item); no HTTP until accessed."""
        return PlumeProducts(str(vis_item["id"]), urls_from_stac_items(vis_item, ime_item, self.asset_urls),
                             self.assets)


def l2b_candidates(record: PlumeRecord, urls: AssetUrls) -> list[CollectionId]:
    """L2B collections to look for a record's scene in, in probe order (spec §7.3)."""
    vis = parse_asset_url(urls.resolve(record.plume_tif)) if record.plume_tif else None
    ime = parse_asset_url(urls.resolve(record.con_tif)) if record.con_tif else None
    gas = record.gas.value.lower()
    cmf_types: list[str] = []
    version = record.emission_version
    if vis is not None:
        vis_coll = CollectionId.parse(vis.ref.collection)
        cmf_types.append(vis_coll.cmf_type or "mfa")
        version = vis_coll.version
    else:
        cmf_types.append(vis_cmf_type(record))
    if ime is not None:
        cmf_types.append(CollectionId.parse(ime.ref.collection).cmf_type or "mfa")
    cmf_types += ["mfa", "mf"] if record.gas is Gas.CH4 else ["mfa", "mfal"]
    if not version:
        return []
    own = version_key(version)
    older = sorted((v for v in L2B_VERSIONS if version_key(v) < own), key=version_key, reverse=True)
    newer = sorted((v for v in L2B_VERSIONS if version_key(v) > own), key=version_key)
    ordered = [CollectionId("l2b", None, gas, cmf, v)
               for cmf in cmf_types for v in [version, *older, *newer]]
    return list(dict.fromkeys(ordered))  # primary cmf type over every version first


def _derived_item(scene: str, collection: CollectionId, urls: dict[str, str]) -> SceneItem:
    try:
        when = compact_instant(scene[3:18]).replace(tzinfo=dt.UTC)
    except ValueError:
        when = None
    return SceneItem(scene_name=scene, collection=str(collection), datetime=when,
                     platform=scene[:3], asset_urls={L2B_ASSETS[b]: u for b, u in urls.items()})


def _page_size(requested: int, maximum: int) -> int:
    if not 1 <= requested <= maximum:
        raise ValueError(f"page_size must be within 1..{maximum}, got {requested}")
    return requested


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


def _envelope(page: Any, count_key: str, path: str) -> tuple[list[dict], int]:
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise ApiError(200, path, detail="unexpected page shape")
    return page["items"], int(page.get(count_key) or 0)

