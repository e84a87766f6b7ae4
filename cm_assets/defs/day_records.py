"""The API's plume records of observation days, fetched in chunks of consecutive days (shared by
``plume_catalog`` and the per-plume assets)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

from cm_assets.carbonmapper.errors import RecordError
from cm_assets.carbonmapper.models import PlumeRecord
from cm_assets.defs.partitions import day_window
from cm_assets.storage import layout
from cm_assets.storage.store import Storage

GASES = ("CH4", "CO2")
CHUNK_DAYS = 92


def _utc_day(stamp: object) -> str | None:
    """The UTC day of an ISO 8601 timestamp (naive ones read as UTC), None when it is not one.
    ``datetime.fromisoformat`` rather than ``pd.to_datetime``: the latter guesses the format anew
    for every single value, a third of a full-world backfill's time."""
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc)
    return parsed.strftime("%Y-%m-%d")


def _record_day(payload: object, fallback: str) -> str:
    """The UTC observation day of a raw record (scene_timestamp, else the plume id's date)."""
    if isinstance(payload, dict):
        day = _utc_day(payload.get("scene_timestamp"))
        if day is not None:
            return day
        digits = str(payload.get("plume_id", ""))[3:11]
        if digits.isdigit():
            return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return fallback


def day_chunks(days: list[str], max_days: int = CHUNK_DAYS) -> list[list[str]]:
    """Consecutive runs of ``days`` (sorted), cut into chunks of at most ``max_days``."""
    chunks: list[list[str]] = []
    for day in sorted(days):
        previous = chunks[-1][-1] if chunks else None
        follows = previous is not None and date.fromisoformat(day) - date.fromisoformat(previous) == timedelta(1)
        if follows and len(chunks[-1]) < max_days:
            chunks[-1].append(day)
        else:
            chunks.append([day])
    return chunks


def fetch_payloads_by_day(client, days: list[str]) -> dict[str, list[dict]]:
    """Raw published records of both gases for ``days``: one paginated query per gas and chunk of
    consecutive days (a backfill of years costs about one request per 1000 plumes, not per day),
    the gases' queries of a chunk in flight together (each run's listing costs one round trip, not
    two).

    A record goes to its own observation day when that day is in ``days``; one observed outside
    them goes to the nearest day of its chunk, whose catalog build quarantines it (never dropped)."""
    out: dict[str, list[dict]] = {day: [] for day in days}
    with ThreadPoolExecutor(len(GASES), thread_name_prefix="listing") as listings:
        for chunk in day_chunks(days):
            window = (day_window(chunk[0])[0], day_window(chunk[-1])[1])
            pending = [listings.submit(_listing, client, gas, window) for gas in GASES]
            for listing in pending:  # in GASES order, whichever finished first
                for payload in listing.result():
                    day = _record_day(payload, chunk[0])
                    out[day if day in out else min(max(day, chunk[0]), chunk[-1])].append(payload)
    return out


def _listing(client, gas: str, window: tuple[datetime, datetime]) -> list[dict]:
    return list(client.iter_plume_payloads(gas=gas, observed=window, status="published"))


def prefetched_payloads(client, days: list[str]) -> Iterator[tuple[list[str], dict[str, list[dict]]]]:
    """``fetch_payloads_by_day`` of each of :func:`day_chunks` of ``days``, in order; the next chunk
    is fetched on a second thread while the caller works on the current one (the API's time
    overlaps the caller's parsing and writing). An error of a fetch is raised when its chunk is
    reached."""
    chunks = day_chunks(days)
    with ThreadPoolExecutor(1, thread_name_prefix="prefetch") as fetcher:
        pending = fetcher.submit(fetch_payloads_by_day, client, chunks[0]) if chunks else None
        for index, chunk in enumerate(chunks):
            payloads = pending.result()
            if index + 1 < len(chunks):
                pending = fetcher.submit(fetch_payloads_by_day, client, chunks[index + 1])
            yield chunk, payloads


def records_by_day(client, store: Storage, days: list[str]) -> dict[str, list[PlumeRecord]]:
    """Typed records (with fresh signed URLs) of the plumes in each day's catalog partition."""
    payloads = fetch_payloads_by_day(client, days)
    return {day: day_records(store, day, payloads[day]) for day in days}


def day_records(store: Storage, day: str, payloads: list[dict]) -> list[PlumeRecord]:
    """The parseable ``payloads`` of plumes that are in the day's catalog partition."""
    if not store.exists(layout.catalog_day(day)):
        return []
    wanted = set(store.read_columns(layout.catalog_day(day), ["plume_id"])["plume_id"])
    records = {}
    for payload in payloads:
        try:
            record = PlumeRecord.parse(payload)
        except RecordError:
            continue
        if record.plume_id in wanted:
            records[record.plume_id] = record
    return [records[k] for k in sorted(records)]
