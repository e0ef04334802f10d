"""Fuzz (issue 12): our client against a real loopback server that answers with random and mutated
responses. Whatever arrives, each request ends with a response or a clear error of the client's
own kinds (``HttpError`` subclasses, ``HTTPException`` from ``raise_for_status``, ``ValueError`` from
``decode_json`` of a body that is not JSON): never another exception, never a hang (every request
has a short timeout), never a socket left open. Hypothesis runs derandomized with a fixed budget.

The server is ``ScriptedServer`` (a plain thread, no flowno_core): each connection gets the bytes of
the current example, then the server closes, or holds the connection open (the client must time
out) for a few examples.
"""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import EventLoop
from flowno_core.io import HTTPException, HttpClient, HttpError, Timeout, streaming_response_is_ok
from iohelpers import Script, ScriptedServer, SocketTracker, chunked, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

_SSE = b'data: {"a": 1}\n\ndata: {"b": [1, 2]}\n\nevent: x\ndata: [DONE]\n\n'
_JSON = json.dumps({"items": list(range(20)), "name": "fuzz"}).encode()
TEMPLATES = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(_JSON) + _JSON,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"hello ", b"chunked ", b"world"),
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunked(_SSE[:20], _SSE[20:]),
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(gzip.compress(_JSON))
    + gzip.compress(_JSON),
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited body",
    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: 15\r\n\r\n{\"error\": \"no\"}",
    b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"busy", trailer=b"X-T: 1\r\n"),
    b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n",
]
INTERESTING = [b"\r\n", b"\r\n\r\n", b"\n", b"\r", b"0\r\n\r\n", b":", b" ", b"\x00", b"\xff\xfe", b"chunked",
               b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n", b"HTTP/1.1 ", b"-1", b"ffffffff",
               b"data: ", b"[DONE]", b"\xc3\xa9", b"Content-Encoding: gzip\r\n", b";charset=bogus"]

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.one_of(st.sampled_from(INTERESTING), st.binary(min_size=1, max_size=8))),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 16)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("repeat"), st.integers(0, 10_000), st.integers(1, 64)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, object]], body_only: bool = False) -> bytes:
    buffer = bytearray(data)
    start = data.rfind(b"\r\n\r\n") + 4 if body_only else 0  # body_only: leave the head alone
    for op, at, arg in mutations:
        at = start + at % (len(buffer) - start + 1)
        if op == "flip" and at < len(buffer):
            buffer[at] ^= arg  # type: ignore[operator]
        elif op == "insert":
            buffer[at:at] = arg  # type: ignore[assignment]
        elif op == "delete":
            del buffer[at:at + arg]  # type: ignore[operator]
        elif op == "truncate":
            del buffer[at:]
        elif op == "repeat":
            buffer[at:at] = buffer[at:at + arg]  # type: ignore[operator]
    return bytes(buffer)


responses = st.one_of(
    st.sampled_from(TEMPLATES),
    st.tuples(st.sampled_from(TEMPLATES), st.lists(mutation, min_size=1, max_size=3)).map(
        lambda t: _mutate(t[0], t[1], body_only=True)),
    st.tuples(st.sampled_from(TEMPLATES), st.lists(mutation, min_size=1, max_size=4)).map(lambda t: _mutate(*t)),
    st.binary(max_size=300),
    st.lists(st.sampled_from(INTERESTING + TEMPLATES), max_size=6).map(b"".join),
)
ways = st.sampled_from(["get", "stream-json", "stream-events", "stream-raw", "keep-alive-get", "keep-alive-stream"])
TIMEOUT = Timeout(connect=2, read=0.15, total=3)  # a slow answer is a timeout error: allowed too


async def _exchange(url: str, way: str) -> None:
    client = HttpClient(timeout=TIMEOUT, follow_redirects=False, keep_alive=way.startswith("keep-alive"),
                        max_body_size=100_000)
    try:
        if way.endswith("get"):
            response = await client.get(url)
            response.text()
            if response.is_json():
                try:
                    response.decode_json()
                except ValueError:
                    pass
            if not response.is_ok:
                with pytest.raises(HTTPException):
                    response.raise_for_status()
            return
        sse = {"stream-events": "events", "stream-raw": "raw"}.get(way, "json")
        streamed = await client.stream_get(url, sse=sse)  # type: ignore[arg-type]
        if streaming_response_is_ok(streamed):
            async with streamed.body as items:
                async for _ in items:
                    pass
        else:
            await streamed.read()
            with pytest.raises(HTTPException) as info:
                await streamed.raise_for_status()
            str(info.value)
    except HttpError as error:
        assert str(error).startswith(f"GET {url}: ")
    finally:
        await client.aclose()


def test_the_client_survives_random_and_mutated_responses():
    before = open_fds()
    with ScriptedServer([Script([b""])]) as srv:
        url = srv.url + "/fuzz?q=1"

        @settings(max_examples=300, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(payload=responses, way=ways, hold=st.integers(0, 9))
        def one_exchange(payload: bytes, way: str, hold: int) -> None:
            srv.scripts = [Script([payload], then="hold" if hold == 0 else "close")]
            with SocketTracker() as tracker:
                EventLoop().run_until_complete(_exchange(url, way), join=True)
            assert tracker.still_open == [], payload

        one_exchange()
    assert open_fds() <= before
