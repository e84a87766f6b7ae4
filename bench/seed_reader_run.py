"""The seed's reader doing its per-plume work, sequentially, against a replica of the API.

Runs inside the seed's own virtual environment (``georeader-spaceml[carbonmapper]``; created by
``bench/vs_seed_reader.py``), never in the project's. Set up as the seed notebook sets it up: a
token from e-mail + password, ``GDAL_HTTP_HEADERS`` with the bearer token,
``CPL_VSIL_CURL_ALLOWED_EXTENSIONS=.tif``, GDAL retries, a retrying ``requests`` adapter. The
reader's base URL is hard-coded to the real API, so every request and every raster open is
redirected from that prefix to the replica's.

Per CH4 plume of the window (one listing; the reader's typed listings are CH4 only): ``CMPlumeImage.from_plume_id``,
the 7 products (mask, concentrations, IME concentrations, IME mask, rgb loaded; outline and IME
outline), the 3 L2B crops (cmf, rgb, uncertainty) and the plume's source. Prints one JSON line.

    python bench/seed_reader_run.py API_URL FIRST LAST PAD_PX   (CARBONMAPPER_EMAIL/PASSWORD set)
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date, datetime, time as dtime, timedelta, timezone

REAL_API = "https://api.carbonmapper.org/api/v1"


def redirect(api_url: str) -> None:
    """Send the reader's requests and raster opens for the real API to ``api_url``."""
    import rasterio
    import requests

    def moved(url):
        return api_url + url[len(REAL_API):] if isinstance(url, str) and url.startswith(REAL_API) else url

    session_request = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        return session_request(self, method, moved(url), *args, **kwargs)

    requests.Session.request = request
    rasterio_open = rasterio.open

    def open_moved(fp, *args, **kwargs):
        return rasterio_open(moved(fp), *args, **kwargs)

    rasterio.open = open_moved


def set_up_like_the_seed() -> str:
    """The seed notebook's set-up cell; returns the token."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    from georeader.readers.carbonmapper import CarbonMapperConfig

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=8, backoff_factor=2.0,
                                            status_forcelist=(429, 500, 502, 503, 504),
                                            respect_retry_after_header=True,
                                            allowed_methods=frozenset(["GET", "POST"])))
    for scheme in ("https://", "http://"):
        session.mount(scheme, adapter)
    requests.get, requests.post, requests.request = session.get, session.post, session.request
    token = CarbonMapperConfig.load().refresh_access_token()
    os.environ["GDAL_HTTP_HEADERS"] = f"Authorization: Bearer {token}"
    os.environ["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = ".tif,.TIF"
    os.environ["GDAL_HTTP_MAX_RETRY"] = "5"
    os.environ["GDAL_HTTP_RETRY_DELAY"] = "3"
    return token


def one_plume(token: str, plume_id: str, pad_px: int) -> dict[str, str]:
    """The seed's per-plume work; the error of each step that failed."""
    from georeader.readers.carbonmapper import CMPlumeImage, api_queries

    failed: dict[str, str] = {}

    def step(name, action):
        try:
            action()
        except Exception as error:  # the seed's reader raises many kinds; record and go on
            failed[name] = f"{type(error).__name__}: {str(error)[:120]}"

    image = CMPlumeImage.from_plume_id(plume_id, token=token)
    for name in ("mask", "concentrations", "ime_concentrations", "ime_mask", "rgb"):
        step(name, lambda name=name: getattr(image, name) is not None and getattr(image, name).load())
    step("outline", lambda: image.outline)
    step("ime_outline", lambda: image.ime_outline)
    for band in ("tile_cmf", "tile_rgb", "tile_uncertainty"):
        step(band, lambda band=band: getattr(image, band)(pad_px=pad_px))
    step("source", lambda: api_queries.get_source_for_plume(token, plume_id))
    return failed


def main(api_url: str, first: str, last: str, pad_px: int) -> dict:
    redirect(api_url)
    from georeader.readers.carbonmapper import Gas, api_queries

    started = time.perf_counter()
    token = set_up_like_the_seed()
    start = datetime.combine(date.fromisoformat(first), dtime.min, tzinfo=timezone.utc)
    end = datetime.combine(date.fromisoformat(last) + timedelta(days=1), dtime.min, tzinfo=timezone.utc)
    listed = api_queries.list_plumes(token, datetime_min=start, datetime_max=end, gas=Gas.CH4)
    plumes = failures = 0
    failed_steps: dict[str, int] = {}
    for plume in listed:
        plumes += 1
        failed = one_plume(token, plume.plume_id, pad_px)
        failures += bool(failed)
        for name in failed:
            failed_steps[name] = failed_steps.get(name, 0) + 1
    return {"wall_s": time.perf_counter() - started, "plumes": plumes, "plumes_with_a_failed_step": failures,
            "failed_steps": failed_steps}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
