"""The API drift check of the plume catalog: per run, what the raw records carry that cm_assets
does not know (fields, versions, collection ids, URL grammars) or no longer finds (fields).
Severity WARN: the records are still stored; the warning says the API changed. One check with a
finding per kind rather than a check per kind: Dagster files a planned row per partition of a
backfill for every check of the asset (~2 s a check over the full world's 3,773 days)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from cm_assets.carbonmapper.enums import CollectionId
from cm_assets.carbonmapper.urls import parse_asset_url
from cm_assets.carbonmapper.vocabulary import (KNOWN_VERSIONS, RECORD_FIELDS, URL_FIELDS,
                                               unknown_parts)

DRIFT_CHECK = "api_drift"
#: each kind of drift the check looks for, and what its finding maps
DRIFT_KINDS: dict[str, str] = {
    "unknown_fields": "record fields the API sends that cm_assets does not know (kept in model_extra, "
                      "not stored) -> records carrying each",
    "missing_fields": "known record fields absent from the API's records -> records without each",
    "new_versions": "emission_version values cm_assets has never seen -> example plumes",
    "new_collections": "collection ids in asset URLs with a version, cmf type or family cm_assets has "
                       "never seen -> what is new, plumes, examples",
    "url_grammar": "asset URLs that do not follow {collection}/{YYYY}/{MM}/{DD}/{item}/"
                   "{item}_{collection}_{key} -> plumes, examples per URL field",
}
DESCRIPTION = ("The raw records hold nothing cm_assets does not know and lack nothing it expects: "
               "fields, emission versions, collection ids, asset URL grammar (WARN: the records are "
               "still stored).")
#: Examples listed per finding in the check metadata.
EXAMPLES = 5


def drift_check_specs(asset: str = "plume_catalog") -> list[AssetCheckSpec]:
    return [AssetCheckSpec(DRIFT_CHECK, asset=asset, description=DESCRIPTION)]


class DriftObserver:
    """Collects the findings over the raw payloads of a run (one or many partitions)."""

    def __init__(self) -> None:
        self.records = 0
        self.unknown_fields: Counter[str] = Counter()
        self.present_fields: Counter[str] = Counter()
        self.versions: dict[str, list[str]] = {}
        self.collections: dict[str, tuple[str, list[str]]] = {}
        self.bad_urls: dict[str, list[str]] = {}
        self.days: dict[str, set[str]] = {}

    def observe(self, payloads: Iterable[object], day: str | None = None) -> None:
        """Look at the raw records of one partition ``day`` (named in the findings)."""
        before = self._counts()
        for payload in payloads:
            if isinstance(payload, dict):
                self._record(payload)
        if day is not None:
            for name, (old, new) in zip(DRIFT_KINDS, zip(before, self._counts())):
                if new != old:
                    self.days.setdefault(name, set()).add(day)

    def _counts(self) -> tuple:
        missing = sum(self.records - self.present_fields[f] for f in RECORD_FIELDS)
        return (sum(self.unknown_fields.values()), missing, sum(map(len, self.versions.values())),
                sum(len(ids) for _what, ids in self.collections.values()), sum(map(len, self.bad_urls.values())))

    def _record(self, payload: dict) -> None:
        self.records += 1
        plume_id = str(payload.get("plume_id"))
        keys = set(payload)
        self.present_fields.update(keys & RECORD_FIELDS)
        self.unknown_fields.update(keys - RECORD_FIELDS)
        version = payload.get("emission_version")
        if version is not None and str(version) not in KNOWN_VERSIONS:
            self.versions.setdefault(str(version), []).append(plume_id)
        for field in URL_FIELDS:
            url = payload.get(field)
            if not url:
                continue
            parsed = parse_asset_url(str(url))
            verdict = _collection_verdict(parsed.ref.collection) if parsed is not None else None
            if verdict is None:
                self.bad_urls.setdefault(field, []).append(plume_id)
                continue
            collection, unknown = verdict
            if unknown:
                self.collections.setdefault(collection, (unknown, []))[1].append(plume_id)

    def results(self) -> list[AssetCheckResult]:
        """The drift check's WARN result: every kind found, with the partitions where it was seen."""
        missing = {f: self.records - self.present_fields[f] for f in sorted(RECORD_FIELDS)
                   if self.records and self.present_fields[f] < self.records}
        found = {
            "unknown_fields": {f: n for f, n in sorted(self.unknown_fields.items())},
            "missing_fields": missing,
            "new_versions": {v: _examples(ids) for v, ids in sorted(self.versions.items())},
            "new_collections": {c: {"new": what, "plumes": len(set(ids)), "examples": _examples(ids)}
                                for c, (what, ids) in sorted(self.collections.items())},
            "url_grammar": {f: {"plumes": len(set(ids)), "examples": _examples(ids)}
                            for f, ids in sorted(self.bad_urls.items())},
        }
        drifted = [kind for kind, findings in found.items() if findings]
        days = sorted(set().union(*(self.days.get(kind, ()) for kind in drifted)))
        return [AssetCheckResult(
            check_name=DRIFT_CHECK, passed=not drifted, severity=AssetCheckSeverity.WARN,
            description=("API drift: " + ", ".join(k.replace("_", " ") for k in drifted)) if drifted else DESCRIPTION,
            metadata={"records": self.records,
                      **{kind: len(findings) for kind, findings in found.items()},
                      "partitions": MetadataValue.text(", ".join(days)),
                      "details": MetadataValue.json({
                          kind: {"meaning": DRIFT_KINDS[kind], "found": found[kind],
                                 "partitions": sorted(self.days.get(kind, ()))} for kind in drifted})})]


@functools.lru_cache(maxsize=1024)
def _collection_verdict(text: str) -> tuple[str, str] | None:
    """The collection id of an asset URL and what in it is unknown ("" when all is known); None when
    it is no collection id. Cached: a catalog has a handful of collections and five URLs a record."""
    try:
        collection = CollectionId.parse(text)
    except ValueError:
        return None
    return str(collection), ", ".join(unknown_parts(collection))


def _examples(ids: list[str]) -> list[str]:
    return sorted(set(ids))[:EXAMPLES]
