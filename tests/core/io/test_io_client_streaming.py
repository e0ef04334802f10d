"""Streaming: concurrency on one client, early close, cancellation, timeouts, TLS, keep-alive."""

from __future__ import annotations

import gc
import ssl

import pytest
import trustme

from flowno_core import Event, sleep, spawn
from flowno_core.io import (
    HttpClient,
    HttpConnectionError,
    HttpServer,
    HttpTimeoutError,
    ServerResponse,
    Timeout,
    sse_response,
)
from iohelpers import Script, ScriptedServer, SocketTracker, chunked, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def _token_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/tokens/{name}")
    async def tokens(request):
        name = request.path_params["name"]
        count = int(request.arg("n", "5"))

        async def gen():
            for i in range(count):
                yield {"name": name, "i": i}
                await sleep(0)  # interleave with the other streams

        return sse_response(gen(), done=True)

    return server


async def test_concurrent_streams_on_one_client_are_independent():
    async with _token_server() as server:
        client = HttpClient()
        results: dict[str, list] = {}

        async def consume(name: str, n: int) -> None:
            response = await client.stream_get(f"{server.url}/tokens/{name}?n={n}")
            results[name] = [value async for value in response.body]

        with SocketTracker() as tracker:
            handles = [await spawn(consume(f"s{k}", 3 + k)) for k in range(8)]
            for handle in handles:
                await handle.join()
        assert tracker.still_open == []
    for k in range(8):
        assert results[f"s{k}"] == [{"name": f"s{k}", "i": i} for i in range(3 + k)]


async def test_concurrent_plain_requests_on_one_client():
    async with _token_server() as server:
        server.add_route("GET", "/echo/{x}", lambda request: _echo(request))
        client = HttpClient(keep_alive=True)
        handles = [await spawn(client.get(f"{server.url}/echo/{i}?q={i}")) for i in range(20)]
        bodies = [(await handle.join()).body for handle in handles]
        await client.aclose()
    assert bodies == [f"{i}:{i}".encode() for i in range(20)]


async def _echo(request):
    return f"{request.path_params['x']}:{request.arg('q')}"


async def test_closing_a_stream_early_closes_the_connection():
    events = b"".join(b'data: {"i": %d}\n\n' % i for i in range(3))
    with ScriptedServer([Script([SSE_HEAD + chunked(events, end=False)], then="hold")] * 2) as srv:
        with SocketTracker() as tracker:
            response = await HttpClient().stream_get(srv.url + "/s")
            assert await response.body.__anext__() == {"i": 0}
            await response.body.aclose()
            assert await srv.client_closed(0)
            with pytest.raises(StopAsyncIteration):
                await response.body.__anext__()

            response = await HttpClient().stream_get(srv.url + "/s")
            async with response.body as body:
                async for value in body:
                    break
            assert await srv.client_closed(1)
        assert tracker.still_open == []


async def test_cancelling_the_consuming_task_closes_the_connection():
    first = chunked(b'data: {"i": 0}\n\n', end=False)
    with ScriptedServer([Script([SSE_HEAD + first], then="hold")]) as srv:
        got_one = Event()
        seen: list = []

        async def consumer() -> None:
            response = await HttpClient().stream_get(srv.url + "/s")
            async for value in response.body:  # parks waiting for the 2nd event, which never comes
                seen.append(value)
                await got_one.set()

        with SocketTracker() as tracker:
            handle = await spawn(consumer())
            await got_one.wait()
            await handle.cancel()
            assert handle.is_cancelled
        assert tracker.still_open == []
        assert await srv.client_closed()
    assert seen == [{"i": 0}]


async def test_a_forgotten_stream_is_closed_when_collected():
    with ScriptedServer([Script([SSE_HEAD + chunked(b'data: {"i": 0}\n\n', end=False)], then="hold")]) as srv:
        response = await HttpClient().stream_get(srv.url + "/s")
        assert await response.body.__anext__() == {"i": 0}
        del response
        gc.collect()
        assert await srv.client_closed()


async def test_server_sees_eof_when_a_client_stream_is_cancelled():
    finished = Event()
    started = Event()
    server = HttpServer("127.0.0.1", 0)

    @server.route("/slow")
    async def slow(request):
        async def gen():
            try:
                await started.set()
                yield "first\n"
                await sleep(3600)
                yield "never\n"
            finally:
                finished.set_nowait()

        return gen()

    async with server:
        response = await HttpClient().stream_get(server.url + "/slow")
        assert await response.body.__anext__() == b"first\n"
        await response.body.aclose()
        await finished.wait()  # the server noticed the disconnect and closed the handler's generator


# -- timeouts -------------------------------------------------------------------------------------
async def test_read_timeout_names_method_url_and_phase():
    before = open_fds()
    with ScriptedServer([Script([], then="hold")]) as srv:
        with SocketTracker() as tracker:
            with pytest.raises(HttpTimeoutError) as info:
                await HttpClient(timeout=Timeout(connect=5, read=0.2)).get(srv.url + "/slow?q=1")
        assert tracker.still_open == []
        assert await srv.client_closed()
    assert open_fds() <= before
    error = info.value
    assert isinstance(error, TimeoutError) and error.phase == "read" and error.seconds == 0.2
    assert str(error).startswith(f"GET {srv.url}/slow?q=1: read timeout after 0.2s")


async def test_read_timeout_while_streaming_the_body():
    with ScriptedServer([Script([SSE_HEAD + chunked(b'data: {"i": 0}\n\n', end=False)], then="hold")]) as srv:
        response = await HttpClient().stream_get(srv.url + "/s", timeout=Timeout(read=0.2))
        values = []
        with pytest.raises(HttpTimeoutError, match="read timeout"):
            async for value in response.body:
                values.append(value)
        assert values == [{"i": 0}] and response.body.closed
        assert await srv.client_closed()


async def test_total_timeout_fires_while_the_server_keeps_dripping():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    with ScriptedServer([Script([head], then="drip", drip=b"x" * 1000, pause=0.02)]) as srv:
        with pytest.raises(HttpTimeoutError) as info:
            await HttpClient(timeout=Timeout(connect=5, read=5, total=0.3)).get(srv.url + "/drip")
        assert await srv.client_closed()
    assert info.value.phase == "total"


async def test_connect_timeout_covers_a_stalled_tls_handshake():
    # the server accepts TCP but never speaks TLS: only the connect timeout can end this
    with ScriptedServer([Script([], then="hold", read_request=False)]) as srv:
        with SocketTracker() as tracker:
            with pytest.raises(HttpTimeoutError) as info:
                await HttpClient(timeout=Timeout(connect=0.2, read=5)).get(f"https://127.0.0.1:{srv.port}/")
        assert tracker.still_open == []
    assert info.value.phase == "connect"


async def test_slow_loris_header_from_server_times_out():
    with ScriptedServer([Script([b"HTTP/1.1 200 OK\r\n"], then="drip", drip=b"X-Slow: " + b"a" * 500,
                                pause=0.05)]) as srv:
        with pytest.raises(HttpTimeoutError) as info:
            await HttpClient(timeout=Timeout(read=5, total=0.3)).get(srv.url + "/")
    assert info.value.phase == "total"


# -- TLS ------------------------------------------------------------------------------------------
async def test_https_with_a_test_ca(tls_pair):
    server_ctx, client_ctx = tls_pair
    body = chunked(b'data: {"secure": true}\n\n')
    scripts = [Script([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret"]), Script([SSE_HEAD + body])]
    with ScriptedServer(scripts, tls=server_ctx) as srv:
        with SocketTracker() as tracker:
            client = HttpClient(ssl_context=client_ctx)
            response = await client.get(srv.url + "/tls?x=1")
            streamed = await client.stream_get(srv.url + "/sse")
            values = [value async for value in streamed.body]
        assert tracker.still_open == []
    assert response.body == b"secret"
    assert values == [{"secure": True}]
    assert srv.seen[0].request.startswith(b"GET /tls?x=1 HTTP/1.1\r\n")


async def test_https_with_an_untrusted_certificate_fails_clearly(tls_pair):
    server_ctx, _ = tls_pair
    with ScriptedServer([Script([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])], tls=server_ctx) as srv:
        with SocketTracker() as tracker:
            with pytest.raises(HttpConnectionError, match="TLS handshake with 127.0.0.1:.* failed") as info:
                await HttpClient().get(srv.url + "/")
        assert tracker.still_open == []
    assert isinstance(info.value.__cause__, ssl.SSLError)


# -- keep-alive -----------------------------------------------------------------------------------
async def test_keep_alive_reuses_connections_and_retries_a_stale_one():
    server = HttpServer("127.0.0.1", 0)
    peers: list = []

    @server.route("/who")
    async def who(request):
        peers.append(request.client)
        return ServerResponse(200, b"ok")

    async with server:
        client = HttpClient(keep_alive=True)
        for _ in range(3):
            assert (await client.get(server.url + "/who")).body == b"ok"
        assert len(set(peers)) == 1 and client.idle_connections == 1
        # the server drops idle connections; the pooled one is stale and must be replaced
        for sock in list(server._idle):
            sock.close()
        await sleep(0.05)
        assert (await client.get(server.url + "/who")).body == b"ok"
        assert len(set(peers)) == 2
        await client.aclose()
        assert client.idle_connections == 0


async def test_keep_alive_off_sends_connection_close_each_time():
    server = HttpServer("127.0.0.1", 0)
    peers: list = []

    @server.route("/who")
    async def who(request):
        peers.append((request.client, request.headers.get("connection")))
        return b"ok"

    async with server:
        client = HttpClient()
        for _ in range(3):
            await client.get(server.url + "/who")
        assert client.idle_connections == 0
    assert len({peer for peer, _ in peers}) == 3 and {c for _, c in peers} == {"close"}
