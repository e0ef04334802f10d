"""Shared by the hand-written HTTP peers of the tests (a proxy, a fake LLM endpoint): reading a
request head from a blocking socket, with nothing of flowno_core's own HTTP code."""

from __future__ import annotations

import socket


def read_head(conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    """Read up to the end of a request head: (method, target, lower-cased headers, bytes after the
    head), or None when the peer closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return None
        data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers, rest
