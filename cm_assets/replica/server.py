"""The replica's HTTP servers: the API origin (``/api/v1``, ``/_replica``) and the signed CDN.

Each origin is its own ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive, ``TCP_NODELAY``; uvicorn
was measured against it and kept out, docs/replica.md "HTTP layer"). Every request goes
through the same pipeline: route match → scheduled/probabilistic faults → rate limit → Bearer
check → handler → response (optionally slowed or truncated) → stats and one access-log line on
stderr. Admin routes skip faults, limits and stats. The log never contains Authorization headers, and
the values of sensitive query parameters (signatures, tokens) are masked.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from cm_assets.replica.auth import AuthError, AuthService, token_invalid, unauthorized
from cm_assets.replica.cdn import CdnSigner
from cm_assets.replica.clock import ReplicaClock
from cm_assets.replica.errors import HTTPError, not_found
from cm_assets.replica.corruption import Corruptions
from cm_assets.replica.faults import FaultInjector
from cm_assets.replica.limits import RateLimiter
from cm_assets.replica.web import Request, Response, Router, error_response

SENSITIVE_PARAMS = frozenset({"Signature", "Key-Pair-Id", "token", "access", "refresh",
                              "password", "access_token"})
_CHUNK = 1 << 16


class Stats:
    """Requests, statuses and body bytes served, per route class; and requests per method and path
    (query string left out), to find what a client asks for more than once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}
        self._paths: dict[str, int] = {}

    def record(self, route_class: str, status: int, sent: int, path: str | None = None) -> None:
        with self._lock:
            entry = self._data.setdefault(route_class, {"requests": 0, "bytes": 0, "status": {}})
            entry["requests"] += 1
            entry["bytes"] += sent
            entry["status"][str(status)] = entry["status"].get(str(status), 0) + 1
            if path is not None:
                self._paths[path] = self._paths.get(path, 0) + 1

    def paths(self) -> dict[str, int]:
        """Requests per ``"<METHOD> <path>"`` since the last reset, most requested first."""
        with self._lock:
            return dict(sorted(self._paths.items(), key=lambda item: (-item[1], item[0])))

    def correct_bytes(self, route_class: str, delta: int) -> None:
        """Adjust a recorded byte count when fewer bytes went out than planned."""
        with self._lock:
            if route_class in self._data:
                self._data[route_class]["bytes"] += delta

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            classes = {k: {"requests": v["requests"], "bytes": v["bytes"],
                           "status": dict(v["status"])} for k, v in self._data.items()}
        return {"requests": sum(v["requests"] for v in classes.values()),
                "bytes": sum(v["bytes"] for v in classes.values()), "classes": classes}

    def reset(self) -> None:
        with self._lock:
            self._data.clear()
            self._paths.clear()


@dataclass
class ReplicaState:
    """Everything the routes share."""

    world: Any
    rasters: Any
    clock: ReplicaClock
    auth: AuthService
    signer: CdnSigner
    limiter: RateLimiter
    faults: FaultInjector
    corruptions: Corruptions | None = None
    stats: Stats = field(default_factory=Stats)
    api_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)


def masked_target(path: str, query: str) -> str:
    """The request target for the access log, with sensitive parameter values masked."""
    if not query:
        return path
    pairs = [(name, "***" if name in SENSITIVE_PARAMS else value)
             for name, values in parse_qs(query, keep_blank_values=True).items()
             for value in values]
    return f"{quote(path)}?{urlencode(pairs, safe='*,:/')}"


def _limit_key(request: Request) -> str:
    token = request.bearer
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "ip:" + request.client


def dispatch(state: ReplicaState, router: Router, origin: str, request: Request
             ) -> tuple[str, Response, bool, float]:
    """(route class, response, truncate?, delay s) of one request: route match, faults, rate
    limit, Bearer check, handler. Errors become their responses; a bug becomes a logged 500."""
    route_class, truncate, delay = origin, False, 0.0
    try:
        found = router.match(request.method, request.path)
        if found is None:
            raise not_found()
        route, groups = found
        route_class = route.route_class
        if route_class != "admin":
            decision = state.faults.decide(request.path)
            truncate, delay = decision.truncate, decision.delay_s
            if decision.error is not None:
                raise decision.error
            retry_after = state.limiter.check(_limit_key(request))
            if retry_after is not None:
                raise HTTPError(429, {"detail": "Request was throttled. Expected "
                                      f"available in {retry_after} seconds."},
                                {"Retry-After": str(retry_after)})
        _authenticate(state, request, route.auth)
        return route_class, route.handler(request, **groups), truncate, delay
    except HTTPError as error:
        return route_class, error_response(error), False, delay
    except Exception:  # noqa: BLE001 - any bug becomes a logged 500, never a hang
        traceback.print_exc(file=sys.stderr)
        return route_class, error_response(
            HTTPError(500, {"detail": "Internal Server Error"})), False, delay


def _authenticate(state: ReplicaState, request: Request, mode: str) -> None:
    if mode == "none":
        return
    token = request.bearer
    if token is None:
        if mode == "required":
            raise unauthorized()
        return
    try:
        request.claims = state.auth.decode(token, "access")
    except AuthError as exc:
        raise token_invalid() from exc


def make_handler(state: ReplicaState, router: Router, origin: str
                 ) -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to one origin's router."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else the body write waits for the header write's delayed ACK

        def version_string(self) -> str:
            return "cm-replica/1"

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The ``Date`` header tells the replica clock, as a real server tells its own."""
            return formatdate(state.clock.now().timestamp() if timestamp is None else timestamp,
                              usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silence the default log (it would print query strings verbatim)."""

        def do_GET(self) -> None:  # noqa: N802
            self._handle()

        def do_HEAD(self) -> None:  # noqa: N802
            self._handle()

        def do_POST(self) -> None:  # noqa: N802
            self._handle()

        def do_PUT(self) -> None:  # noqa: N802
            self._handle()

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle()

        def _handle(self) -> None:
            started = time.perf_counter()
            split = urlsplit(self.path)
            path = unquote(split.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            request = Request(self.command, path, parse_qs(split.query), self.headers, body,
                              self.client_address[0])
            route_class, response, truncate, delay = dispatch(state, router, origin, request)
            if delay:
                time.sleep(delay)
            sent = self._write(response, truncate, None if route_class == "admin" else route_class,
                               f"{self.command} {path}")
            elapsed = (time.perf_counter() - started) * 1000
            sys.stderr.write(f"{origin} {request.client} {self.command} "
                             f"{masked_target(split.path, split.query)} {response.status} "
                             f"{sent}B {elapsed:.1f}ms\n")
            sys.stderr.flush()

        def _write(self, response: Response, truncate: bool, stats_class: str | None,
                   counted_path: str | None = None) -> int:
            """Send the response; stats are recorded before the body goes out, so a client
            that has read the whole body always sees its request counted."""
            length = response.length
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(length))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            budget = 0 if self.command == "HEAD" else length // 2 if truncate else length
            if stats_class:
                state.stats.record(stats_class, response.status, budget, counted_path)
            sent = 0
            try:
                self.end_headers()
                if budget:
                    sent = self._write_body(response, budget)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            if stats_class and sent != budget:
                state.stats.correct_bytes(stats_class, sent - budget)
            return sent

        def _write_body(self, response: Response, budget: int) -> int:
            if response.file is None:
                self.wfile.write(response.body[:budget])
                return min(budget, len(response.body))
            start = response.file_range[0] if response.file_range else 0
            sent = 0
            with response.file.open("rb") as handle:
                handle.seek(start)
                while sent < budget:
                    chunk = handle.read(min(_CHUNK, budget - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
            return sent

    return Handler


class _Origin(ThreadingHTTPServer):
    """One origin's listener, with a production server's listen backlog: the standard library's 5
    drops the connection attempts beyond it, and the client's TCP retries them a second later
    (concurrent GDAL reads, each on its own connection, hit that)."""

    request_queue_size = 511


class ReplicaServer:
    """The two listening origins, run on background threads."""

    def __init__(self, host: str, api_port: int, cdn_port: int,
                 build: Callable[[str, str], tuple[ReplicaState, Router, Router]]) -> None:
        self._api = _Origin((host, api_port), BaseHTTPRequestHandler)
        self._cdn = _Origin((host, cdn_port), BaseHTTPRequestHandler)
        for server in (self._api, self._cdn):
            server.daemon_threads = True
        root = f"http://{host}:{self._api.server_address[1]}"
        self.api_url = f"{root}/api/v1"
        self.admin_url = f"{root}/_replica"
        self.cdn_url = f"http://{host}:{self._cdn.server_address[1]}"
        self.state, api_router, cdn_router = build(self.api_url, self.cdn_url)
        self._api.RequestHandlerClass = make_handler(self.state, api_router, "api")
        self._cdn.RequestHandlerClass = make_handler(self.state, cdn_router, "cdn")
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for server in (self._api, self._cdn):
            thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in (self._api, self._cdn):
            server.shutdown()
            server.server_close()

