"""The replica's origins queue many connection attempts at once, as a production server does."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

from cm_assets.replica.server import _Origin

AT_ONCE = 64  # more than the standard library's backlog of 5, fewer than a production server's


def test_connections_beyond_the_standard_librarys_backlog_are_queued_not_dropped():
    """With nobody accepting yet, the kernel completes every handshake the backlog has room for;
    the standard library's 5 would leave the rest waiting on a dropped SYN."""
    origin = _Origin(("127.0.0.1", 0), BaseHTTPRequestHandler)
    clients: list[socket.socket] = []
    try:
        for _ in range(AT_ONCE):
            clients.append(socket.create_connection(origin.server_address, timeout=2))
        assert len(clients) == AT_ONCE
    finally:
        for client in clients:
            client.close()
        origin.server_close()
