"""Keep-alive after streams, and connections dropped mid-body (issue 12, item 8, client half).

The peer is ``KeepAliveServer``: a plain thread server that keeps each connection open and answers
every request on it with the next scripted response, counting connections, so a test sees exactly
whether the client reused one. No flowno_core runs inside it.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from flowno_core.io import HttpClient, HttpConnectionError, HttpProtocolError, IncompleteBodyError
from iohelpers import SocketTracker, ThreadServer, chunked, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


class KeepAliveServer(ThreadServer):
    """Answers request k (over all connections) with ``responses[k]`` (the last one repeats).

    A response is a list of byte pieces; ``pause`` seconds pass between pieces (so the end of a
    body can arrive in a later read than its start). ``None`` as a piece closes the connection.
    """

    def __init__(self, responses: list[list[bytes | None]], pause: float = 0.0) -> None:
        super().__init__()
        self.responses = responses
        self.pause = pause
        self.requests: list[bytes] = []
        self._lock = threading.Lock()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        buffer = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except (TimeoutError, socket.timeout):
                        if self._stop.is_set():
                            return
                        continue
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(head)
                for number, piece in enumerate(self.responses[min(index, len(self.responses) - 1)]):
                    if piece is None:
                        return
                    if number and self.pause:
                        time.sleep(self.pause)
                    conn.sendall(piece)
        except OSError:
            return
        finally:
            conn.close()


def _sse(*payloads: bytes) -> bytes:
    return b"".join(b"data: %s\n\n" % p for p in payloads)


async def test_a_chunked_stream_read_to_the_end_leaves_the_connection_for_the_next_request():
    stream = [CHUNKED_HEAD, chunked(b"one ", b"two ")[:-5], b"0\r\n\r\n"]  # the end arrives separately
    plain = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
    with KeepAliveServer([stream, plain, stream], pause=0.02) as srv:
        async with HttpClient(keep_alive=True) as client:
            response = await client.stream_get(srv.url + "/s")
            assert b"".join([chunk async for chunk in response.body]) == b"one two "
            assert client.idle_connections == 1
            assert (await client.get(srv.url + "/p")).body == b"ok"
            response = await client.stream_get(srv.url + "/s")
            assert [chunk async for chunk in response.body] != []
    assert srv.connections == 1 and len(srv.requests) == 3


async def test_an_sse_stream_ended_by_done_is_drained_and_reused():
    events = _sse(b'{"t": "a"}', b'{"t": "b"}', b"[DONE]")
    sse = [SSE_HEAD, chunked(events, end=False), b"0\r\n\r\n"]  # [DONE] first, the end of the body later
    with KeepAliveServer([sse], pause=0.02) as srv:
        async with HttpClient(keep_alive=True) as client:
            for _ in range(3):
                response = await client.stream_post(srv.url + "/v1/chat", json={"stream": True})
                assert [value async for value in response.body] == [{"t": "a"}, {"t": "b"}]
                assert response.body.done_received and client.idle_connections == 1
    assert srv.connections == 1 and len(srv.requests) == 3


async def test_without_keep_alive_done_closes_at_once():
    events = _sse(b"1", b"[DONE]")
    with KeepAliveServer([[SSE_HEAD, chunked(events, end=False)]]) as srv:  # the body never ends
        with SocketTracker() as tracker:
            response = await HttpClient().stream_get(srv.url + "/s")
            assert [value async for value in response.body] == [1]
        assert tracker.still_open == []


async def test_too_much_after_done_closes_instead_of_draining():
    events = _sse(b"1", b"[DONE]") + b": padding\n" * 30_000
    with KeepAliveServer([[SSE_HEAD, chunked(events)]]) as srv:
        async with HttpClient(keep_alive=True) as client:
            for _ in range(2):
                response = await client.stream_get(srv.url + "/s")
                assert [value async for value in response.body] == [1]
                assert client.idle_connections == 0
    assert srv.connections == 2


async def test_a_stream_closed_early_is_not_reused():
    with KeepAliveServer([[CHUNKED_HEAD, chunked(b"a", end=False)]]) as srv:
        async with HttpClient(keep_alive=True) as client:
            for _ in range(2):
                response = await client.stream_get(srv.url + "/s")
                async with response.body as chunks:
                    async for _ in chunks:
                        break
                assert client.idle_connections == 0
    assert srv.connections == 2


async def test_a_chunked_error_body_read_to_the_end_is_reused():
    error = [b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n", chunked(b'{"e":', b" 1}")]
    with KeepAliveServer([error]) as srv:
        async with HttpClient(keep_alive=True) as client:
            for _ in range(2):
                response = await client.stream_get(srv.url + "/s")
                assert await response.decode_json() == {"e": 1}
    assert srv.connections == 1


DROPS = {
    "chunked": ([CHUNKED_HEAD, chunked(b"hello", b"world", end=False) + b"5\r\nab", None],
                "connection closed by the server after 12 bytes of a chunked body"),
    "length": ([b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", b"x" * 20, None],
               "connection closed by the server after 20 of the 50 bytes of the body (Content-Length)"),
    "sse": ([SSE_HEAD, chunked(_sse(b'{"t": 1}'), end=False), None],
            "connection closed by the server after 16 bytes of a chunked body"),
}


@pytest.mark.parametrize("case", sorted(DROPS))
@pytest.mark.parametrize("keep_alive", [False, True], ids=["close", "keep-alive"])
async def test_a_connection_dropped_mid_stream_is_a_clear_error(case, keep_alive):
    script, message = DROPS[case]
    before = open_fds()
    with KeepAliveServer([script], pause=0.01) as srv:
        url = srv.url + "/stream?n=1"
        with SocketTracker() as tracker:
            client = HttpClient(keep_alive=keep_alive)
            response = await client.stream_get(url)
            seen = []
            with pytest.raises(IncompleteBodyError) as info:
                async for item in response.body:
                    seen.append(item)
            with pytest.raises(IncompleteBodyError):
                await client.get(url)  # the whole-body read says the same
            assert client.idle_connections == 0
        assert tracker.still_open == []
    assert open_fds() <= before
    error = info.value
    assert str(error) == f"GET {url}: {message}: the response is incomplete"
    assert "malformed" not in str(error)
    assert isinstance(error, HttpProtocolError) and isinstance(error, HttpConnectionError)
    assert error.received > 0 and seen
