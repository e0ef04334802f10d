"""Fuzz the server with random and mutated request bytes over loopback (issue 12).

After every input: what came back is a sequence of well-formed HTTP/1.1 responses (or nothing: a
close), a refusal (400, 408, 413, 431, 501, 505) closes the connection, nothing is a 500; nothing was
logged at warning level or above, no exception went unraised, and a normal request on a fresh
connection is still served. Derandomized with a fixed example budget, so CI runs the same inputs
every time, in a few seconds.
"""

from __future__ import annotations

import logging
import sys
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core.io import HttpServer, ServerThread
from serverhelpers import blocking_exchange, parse_replies

TEMPLATES = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /items/7?page=2 HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\nUser-Agent: fuzz\r\n\r\n",
    b"HEAD /items/7 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /items/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
]
NASTY_FIELDS = [
    b"Content-Length: 5\r\n", b"Content-Length: -1\r\n", b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: 2, 3\r\n", b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip\r\n",
    b"Transfer-Encoding: chunked, chunked\r\n", b"Host: b\r\n", b"X-Folded: a\r\n b\r\n", b"X-Bin: \xff\xfe\r\n",
    b"X-Nul: a\x00b\r\n", b" Leading: space\r\n", b"No-Colon\r\n", b"Bad Name: v\r\n", b"X-Big: " + b"z" * 3000 + b"\r\n",
    b"Expect: 100-continue\r\n", b"Connection: close\r\n", b"Connection: keep-alive, Upgrade\r\n",
]
FRAGMENTS = [b"GET", b"POST", b"HEAD", b" ", b"/", b"/echo", b"*", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"\r\n",
             b"\n", b"\r", b":", b"Host", b"Content-Length", b"Transfer-Encoding", b"chunked", b"0", b"5", b"ffffff",
             b"\x00", b"\xff", b";", b",", b"\t"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "repeat", "truncate", "field", "line-ending"]))
        if kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 40))] * draw(st.integers(1, 3))
        elif kind == "truncate":
            del data[at:]
        elif kind == "field":
            line_end = data.find(b"\n")
            data[line_end + 1 : line_end + 1] = draw(st.sampled_from(NASTY_FIELDS))
        elif kind == "line-ending":
            data = bytearray(data.replace(b"\r\n", draw(st.sampled_from([b"\n", b"\r", b"\r\r\n", b"\n\r"]))))
    return bytes(data)


REFUSALS = {400, 408, 413, 431, 501, 505}  # the server refused the request itself: it must close
REQUESTS = st.one_of(
    mutated(),
    st.binary(max_size=400),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(b"".join),
)


class Trouble(logging.Handler):
    """Collects what the server logs at warning level or above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def make_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0, max_header_size=2048, max_header_count=20, max_body_size=1024,
                        header_timeout=5, request_timeout=5, idle_timeout=5)

    @server.route("/")
    async def root(request):
        return "ok"

    @server.route("/items/{item_id}", methods=["GET", "DELETE"])
    async def item(request):
        return {"id": request.path_params["item_id"], "page": request.arg("page")}

    @server.route("/echo", methods=["POST", "PUT"])
    async def echo(request):
        return request.body

    return server


def test_random_and_mutated_requests_never_break_the_server():
    trouble = Trouble()
    unraised: list[object] = []
    log = logging.getLogger("flowno_core")
    old_level, old_hook, old_thread_hook = log.level, sys.unraisablehook, threading.excepthook
    log.addHandler(trouble)
    log.setLevel(logging.WARNING)
    sys.unraisablehook = unraised.append
    threading.excepthook = unraised.append
    server = make_server()
    try:
        with ServerThread(server):

            @settings(max_examples=500, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(REQUESTS)
            def exchange(request: bytes) -> None:
                reply, reset = blocking_exchange(server.port, request)
                replies = parse_replies(reply, maybe_head=True)
                for answer in replies:
                    assert answer.status < 500 or answer.status in (501, 505), (request, reply)
                if replies and replies[-1].status in REFUSALS:
                    assert replies[-1].header("connection") == "close", (request, reply)
                assert not trouble.records, [record.getMessage() for record in trouble.records]
                assert not unraised, unraised
                normal, _ = blocking_exchange(server.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert [(r.status, r.body) for r in parse_replies(normal)] == [(200, b"ok")], (request, normal)

            exchange()
    finally:
        log.removeHandler(trouble)
        log.setLevel(old_level)
        sys.unraisablehook, threading.excepthook = old_hook, old_thread_hook
