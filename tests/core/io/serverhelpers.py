"""Helpers for the HttpServer tests: raw exchanges over loopback and a strict reply parser.

``raw_exchange`` runs inside a flowno_core loop (the server in the same loop); ``blocking_exchange``
uses a plain stdlib socket, for a server on a ``ServerThread`` or in another process. Both send
exactly the bytes given, so a test controls framing, timing and malformed input. ``parse_replies``
checks that what came back is a sequence of complete, well-formed HTTP/1.1 responses and says what
is wrong when it is not.
"""

from __future__ import annotations

import re
import socket as stdlib_socket
from dataclasses import dataclass

from flowno_core import sleep, socket


async def raw_exchange(port: int, *pieces: bytes, pause: float = 0.0, half_close: bool = False) -> bytes:
    """Send ``pieces`` (``pause`` seconds apart) and read until the server closes the connection.

    Stops sending when the server has already closed; ``half_close`` shuts the sending side after
    the last piece (the server then sees the end of the request stream)."""
    sock = socket()
    try:
        await sock.connect(("127.0.0.1", port))
        for index, piece in enumerate(pieces):
            if index and pause:
                await sleep(pause)
            try:
                await sock.sendAll(piece)
            except OSError:
                break  # the server answered and closed
        if half_close:
            try:
                sock.shutdown(stdlib_socket.SHUT_WR)
            except OSError:
                pass
        data = b""
        while True:
            try:
                part = await sock.recv(65536)
            except ConnectionResetError:
                return data
            if not part:
                return data
            data += part
    finally:
        sock.close()


def blocking_exchange(port: int, data: bytes, *, timeout: float = 10.0) -> tuple[bytes, bool]:
    """Send ``data`` on a new stdlib connection, half-close, read to the end.

    Returns ``(reply, reset)``: the bytes received and whether the server reset the connection."""
    with stdlib_socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(stdlib_socket.SHUT_WR)
        except OSError:
            pass  # the server already answered and closed; read what it said
        reply = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                return reply, True
            if not part:
                return reply, False
            reply += part


@dataclass
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name.lower()]
        return ", ".join(values) if values else None


_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) ([\x20-\x7e]*)\r\n")
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*\r\n")
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]+)\r\n")


def parse_replies(data: bytes, *, maybe_head: bool = False) -> list[Reply]:
    """Split ``data`` into complete, well-formed HTTP/1.1 responses (AssertionError otherwise).

    With ``maybe_head`` a response whose body is absent (the data ends, or the next status line
    starts, right after its head) is taken as the answer to a HEAD request."""
    replies: list[Reply] = []
    pos = 0
    while pos < len(data):
        if replies and replies[-1].status >= 200 and (replies[-1].header("connection") or "").lower() == "close":
            raise AssertionError(f"bytes after a 'Connection: close' response: {data[pos:pos + 80]!r}")
        line = _STATUS_LINE.match(data, pos)
        assert line, f"no status line at byte {pos}: {data[pos:pos + 80]!r}"
        pos = line.end()
        headers: list[tuple[str, str]] = []
        while not data.startswith(b"\r\n", pos):
            field = _FIELD.match(data, pos)
            assert field, f"malformed header line at byte {pos}: {data[pos:pos + 80]!r}"
            headers.append((field[1].decode().lower(), field[2].decode()))
            pos = field.end()
        pos += 2
        reply = Reply(int(line[1]), line[2].decode(), headers, b"")
        replies.append(reply)
        if reply.status < 200 or reply.status in (204, 304):
            continue
        if maybe_head and (pos == len(data) or data.startswith(b"HTTP/1.1 ", pos)):
            continue
        if reply.header("transfer-encoding") == "chunked":
            assert reply.header("content-length") is None, f"chunked with a Content-Length: {headers}"
            body = b""
            while True:
                size = _CHUNK_SIZE.match(data, pos)
                assert size, f"malformed chunk size at byte {pos}: {data[pos:pos + 40]!r}"
                length = int(size[1], 16)
                pos = size.end()
                assert data.startswith(b"\r\n", pos + length), f"chunk of {length} bytes not followed by CRLF"
                body += data[pos : pos + length]
                pos += length + 2
                if length == 0:
                    break
            reply.body = body
        else:
            length_field = reply.header("content-length")
            assert length_field is not None and length_field.isdigit(), f"no body framing: {headers}"
            length = int(length_field)
            assert len(data) - pos >= length, f"body cut short: {len(data) - pos} of {length} bytes"
            reply.body = data[pos : pos + length]
            pos += length
    return replies
