"""The replica's two origins on uvicorn (ASGI), with the same pipeline as ``server``.

Every request: route match (Starlette templates) → scheduled/probabilistic faults → rate limit →
Bearer check → handler (in the thread pool; handlers and raster generation block) → optional
delay (``asyncio.sleep``, outside every lock) → response, optionally truncated: half the body is
sent and the connection dropped → stats and one access-log line on stderr. Admin routes skip
faults, limits and stats.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

import uvicorn
import uvloop
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from cm_assets.replica.server import ReplicaState, dispatch, masked_target
from cm_assets.replica.web import Request, Response, Router

_CHUNK = 1 << 16
_SERVER = b"cm-replica/1"


class OriginApp:
    """The ASGI application of one origin (``api`` or ``cdn``)."""

    def __init__(self, state: ReplicaState, router: Router, origin: str) -> None:
        self.state, self.router, self.origin = state, router, origin

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        query = scope["query_string"].decode("latin-1")
        client = scope["client"][0] if scope.get("client") else ""
        request = Request(scope["method"], scope["path"], parse_qs(query), Headers(scope=scope),
                          body, client)
        route_class, response, truncate, delay = await run_in_threadpool(
            dispatch, self.state, self.router, self.origin, request)
        if delay:
            await asyncio.sleep(delay)
        stats_class = None if route_class == "admin" else route_class
        sent = await self._write(send, request, response, truncate, stats_class)
        elapsed = (time.perf_counter() - started) * 1000
        sys.stderr.write(f"{self.origin} {client} {request.method} "
                         f"{masked_target(scope['raw_path'].decode('latin-1'), query)} "
                         f"{response.status} {sent}B {elapsed:.1f}ms\n")
        sys.stderr.flush()

    async def _write(self, send: Callable, request: Request, response: Response, truncate: bool,
                     stats_class: str | None) -> int:
        """Send the response; stats are recorded before the body goes out (as in ``server``)."""
        length = response.length
        headers = [(b"server", _SERVER),
                   (b"date", formatdate(self.state.clock.now().timestamp(), usegmt=True).encode()),
                   (b"content-type", response.content_type.encode("latin-1")),
                   (b"content-length", str(length).encode())]
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.items()]
        if truncate:
            headers.append((b"connection", b"close"))
        budget = 0 if request.method == "HEAD" else length // 2 if truncate else length
        if stats_class:
            self.state.stats.record(stats_class, response.status, budget,
                                    f"{request.method} {request.path}")
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        sent = 0
        for chunk in _body_chunks(response, budget):
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not truncate:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # A truncated response returns without completing: uvicorn then closes the connection.
        if stats_class and sent != budget:
            self.state.stats.correct_bytes(stats_class, sent - budget)
        return sent


def _body_chunks(response: Response, budget: int):
    if not budget:
        return
    if response.file is None:
        yield response.body[:budget]
        return
    start = response.file_range[0] if response.file_range else 0
    left = budget
    with response.file.open("rb") as handle:
        handle.seek(start)
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


async def _read_body(receive: Callable) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)


async def _lifespan(receive: Callable, send: Callable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it a response's header and body writes wait ~40 ms on delayed ACKs (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class AsgiReplicaServer:
    """The two listening origins on one uvicorn event loop, run on a background thread."""

    def __init__(self, host: str, api_port: int, cdn_port: int,
                 build: Callable[[str, str], tuple[ReplicaState, Router, Router]]) -> None:
        self._sockets = [_listen(host, api_port), _listen(host, cdn_port)]
        root = f"http://{host}:{self._sockets[0].getsockname()[1]}"
        self.api_url = f"{root}/api/v1"
        self.admin_url = f"{root}/_replica"
        self.cdn_url = f"http://{host}:{self._sockets[1].getsockname()[1]}"
        self.state, api_router, cdn_router = build(self.api_url, self.cdn_url)
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        self._servers = [
            uvicorn.Server(uvicorn.Config(OriginApp(self.state, router, origin), log_config=None,
                                          access_log=False, server_header=False, date_header=False,
                                          lifespan="off", timeout_keep_alive=30))
            for router, origin in ((api_router, "api"), (cdn_router, "cdn"))]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        async def serve() -> None:
            await asyncio.gather(*(server.serve(sockets=[sock])
                                   for server, sock in zip(self._servers, self._sockets)))

        def run() -> None:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(serve())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not all(s.started for s in self._servers) and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()
