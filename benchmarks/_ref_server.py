"""Reference HTTP/1.1 server for the client benchmarks: a small selectors loop with canned responses.

It is deliberately cheap (no parsing beyond the request line, responses prepared in advance) so
that, running in its own process on the second core, it is not what limits the client being
measured. Every response carries ``Connection: close`` and the server closes the connection after
it. Routes:

* ``GET /hello`` (and ``GET /``): 200, ``text/plain``, ``Content-Length: 14``, ``Hello, world!\\n``.
* ``GET /stream/N``: 200, ``application/octet-stream``, ``Transfer-Encoding: chunked``, N bytes in
  64 KiB chunks (the size is in the path because flowno 0.1.19's client drops query strings).
* anything else: 404.

Run as a script: listens on 127.0.0.1 on a free port, prints the port on one line, serves until
terminated by the benchmark worker that started it.
"""

from __future__ import annotations

import selectors
import socket
import sys
from collections.abc import Iterator

CHUNK = 65536
FRAME = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
HELLO = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
         b"Connection: close\r\n\r\nHello, world!\n")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")


def stream_body(n: int) -> Iterator[bytes]:
    yield STREAM_HEAD
    full, rest = divmod(n, CHUNK)
    for _ in range(full):
        yield FRAME
    if rest:
        yield b"%x\r\n" % rest + b"x" * rest + b"\r\n"
    yield b"0\r\n\r\n"


def respond(request_line: bytes) -> Iterator[bytes]:
    parts = request_line.split(b" ")
    path = parts[1].split(b"?", 1)[0] if len(parts) >= 2 else b""
    if parts[0] == b"GET" and path in (b"/hello", b"/"):
        return iter((HELLO,))
    if parts[0] == b"GET" and path.startswith(b"/stream/") and path[8:].isdigit():
        return stream_body(int(path[8:]))
    return iter((NOT_FOUND,))


class Conn:  # one client connection
    __slots__ = ("sock", "inbuf", "out", "pending")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbuf = b""
        self.out: Iterator[bytes] | None = None
        self.pending = memoryview(b"")


def serve(listener: socket.socket) -> None:
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)

    def close(conn: Conn) -> None:
        sel.unregister(conn.sock)
        conn.sock.close()

    while True:
        for key, _ in sel.select():
            if key.data is None:
                while True:
                    try:
                        sock, _ = listener.accept()
                    except BlockingIOError:
                        break
                    sock.setblocking(False)
                    sel.register(sock, selectors.EVENT_READ, Conn(sock))
                continue
            conn: Conn = key.data
            if conn.out is None:
                try:
                    data = conn.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    close(conn)
                    continue
                if not data:
                    close(conn)
                    continue
                conn.inbuf += data
                if b"\r\n\r\n" not in conn.inbuf:
                    continue
                conn.out = respond(conn.inbuf.split(b"\r\n", 1)[0])
                sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
            try:
                while True:
                    if not conn.pending:
                        piece = next(conn.out, None)
                        if piece is None:
                            close(conn)
                            break
                        conn.pending = memoryview(piece)
                    sent = conn.sock.send(conn.pending)
                    conn.pending = conn.pending[sent:]
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                close(conn)


def main() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    print(listener.getsockname()[1], flush=True)
    try:
        serve(listener)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
