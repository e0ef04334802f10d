"""Test helpers for flowno_core.io: a scripted stdlib server, socket accounting, chunk encoding.

The scripted server runs on a plain thread (socketserver-style, no flowno_core inside) and answers
each connection with fixed byte pieces, so the client meets exactly the framing a test wants. The
tests in this directory run on the real clock (see conftest.py): a thread server must not race a
virtual clock.
"""

from __future__ import annotations

from flowno_core.testing.sockets import SocketTracker, open_fds  # noqa: F401 - re-exported for the io tests

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from flowno_core import to_thread


def chunked(*pieces: bytes, trailer: bytes = b"", end: bool = True) -> bytes:
    """Encode ``pieces`` as a chunked body (one chunk each), with the final zero chunk if ``end``."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p)
    return out + b"0\r\n" + trailer + b"\r\n" if end else out


@dataclass
class Script:
    """What the server does on one connection.

    pieces: byte strings sent one after another (``pause`` seconds apart).
    then: "close" (close after the pieces), "hold" (keep the connection open until the client
    closes it or the server is shut down), or "drip" (after the pieces, send ``drip`` bytes one at a
    time every ``pause`` seconds until the client goes away).
    read_request: read the request head (and a Content-Length body) before answering.
    """

    pieces: list[bytes]
    then: str = "close"
    pause: float = 0.0
    drip: bytes = b""
    read_request: bool = True


@dataclass
class Seen:
    request: bytes = b""
    client_closed: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class ScriptedServer:
    """A loopback server on a thread; connection k follows ``scripts[k]`` (the last one repeats).

    Example::

        with ScriptedServer([Script([b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi"])]) as srv:
            response = await HttpClient().get(srv.url + "/x")
    """

    def __init__(self, scripts: list[Script], tls: ssl.SSLContext | None = None) -> None:
        self.scripts = scripts
        self.tls = tls
        self.seen: list[Seen] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> "ScriptedServer":
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        index = 0
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            script = self.scripts[min(index, len(self.scripts) - 1)]
            index += 1
            seen = Seen()
            self.seen.append(seen)
            thread = threading.Thread(target=self._serve, args=(conn, script, seen), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, script: Script, seen: Seen) -> None:
        try:
            conn.settimeout(0.05)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                conn.settimeout(5)
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    seen.client_closed.set()
                    return
                conn.settimeout(0.05)
            if script.read_request:
                seen.request = self._read_request(conn, seen)
            for index, piece in enumerate(script.pieces):
                if index and script.pause:
                    time.sleep(script.pause)
                try:
                    conn.sendall(piece)
                except OSError:
                    seen.client_closed.set()
                    return
            if script.then == "close":
                return
            drip = iter(script.drip)
            while not self._stop.is_set():
                if self._peer_closed(conn):
                    seen.client_closed.set()
                    return
                if script.then == "drip":
                    byte = next(drip, None)
                    if byte is None:
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        seen.client_closed.set()
                        return
                    time.sleep(script.pause)
        finally:
            try:
                conn.close()
            finally:
                seen.done.set()

    def _read_request(self, conn: socket.socket, seen: Seen) -> bytes:
        data = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in data and time.monotonic() < deadline and not self._stop.is_set():
            try:
                part = conn.recv(65536)
            except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
                continue
            if not part:
                break
            data += part
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length and time.monotonic() < deadline:
            try:
                part = conn.recv(65536)
            except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
                continue
            if not part:
                break
            body += part
        return head + b"\r\n\r\n" + body

    @staticmethod
    def _peer_closed(conn: socket.socket) -> bool:
        try:
            data = conn.recv(65536)
        except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
            return False
        except OSError:
            return True
        return data == b""

    async def client_closed(self, index: int = 0, timeout: float = 5.0) -> bool:
        """Wait (on a worker thread) until connection ``index`` saw the client close."""
        deadline = time.monotonic() + timeout
        while len(self.seen) <= index and time.monotonic() < deadline:
            await to_thread(time.sleep, 0.01)
        if len(self.seen) <= index:
            return False
        return await to_thread(self.seen[index].client_closed.wait, max(0.0, deadline - time.monotonic()))


class ThreadServer:
    """A loopback listener on a thread: each connection is served by ``_serve`` on a thread of its
    own; leaving the ``with`` block stops and joins them all. ``connections`` counts accepts."""

    def __init__(self) -> None:
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _spawn(self, target, *args) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            self.connections += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError
