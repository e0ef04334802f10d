"""HttpClient against a stdlib thread server that sends fixed bytes: framing, decoding, errors.

Each error case checks three things: the exception type, a message naming method and URL, and that
the client's socket was closed (SocketTracker plus the process's fd table).
"""

from __future__ import annotations

import gzip
import zlib

import pytest

import flowno_core.io.connection as connection_module
from flowno_core.io import (
    ErrStreamingResponse,
    Headers,
    HttpClient,
    HttpConnectionError,
    HttpProtocolError,
    IncompleteBodyError,
    InvalidURL,
    OkStreamingResponse,
    ServerSentEvent,
    streaming_response_is_ok,
)
from iohelpers import Script, ScriptedServer, SocketTracker, chunked, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

OK_HEAD = b"HTTP/1.1 200 OK\r\n"
SSE_HEAD = OK_HEAD + b"Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.fixture(params=[1, 3, 65536], ids=["read1", "read3", "read64k"])
def read_size(request, monkeypatch):
    """Run a test with the client reading 1, 3 or 65536 bytes per recv."""
    monkeypatch.setattr(connection_module, "READ_SIZE", request.param)
    return request.param


async def _get(url: str, **kwargs):
    with SocketTracker() as tracker:
        response = await HttpClient(**kwargs).get(url)
    assert tracker.still_open == []
    return response


# -- bodies ---------------------------------------------------------------------------------------
async def test_content_length_body_and_query_string_kept(read_size):
    with ScriptedServer([Script([OK_HEAD + b"Content-Length: 5\r\nX-Multi: a\r\nX-Multi: b\r\n\r\nhello"])]) as srv:
        response = await _get(srv.url + "/path/x?q=1&r=%20two")
    assert response.body == b"hello"
    assert response.status == "HTTP/1.1 200 OK" and response.status_code == 200 and response.is_ok
    assert response.headers.get_all("x-multi") == ["a", "b"]
    assert srv.seen[0].request.startswith(b"GET /path/x?q=1&r=%20two HTTP/1.1\r\n")


async def test_default_request_headers_and_precedence():
    with ScriptedServer([Script([OK_HEAD + b"Content-Length: 0\r\n\r\n"])]) as srv:
        client_headers = Headers({"User-Agent": "client-ua", "X-Client": "c", "X-Both": "client"})
        extra = Headers({"X-Both": "call"})
        extra.add("X-Rep", "1")
        extra.add("X-Rep", "2")
        await HttpClient(client_headers).request("POST", srv.url + "/p", b"abc", extra)
    head = srv.seen[0].request.decode().lower()
    lines = head.split("\r\n")
    assert lines[0] == "post /p http/1.1"
    assert f"host: 127.0.0.1:{srv.port}" in lines
    assert "accept-encoding: gzip, deflate" in lines
    assert "connection: close" in lines
    assert "content-length: 3" in lines
    assert "user-agent: client-ua" in lines  # client headers override defaults
    assert "x-both: call" in lines  # per-call headers override client headers
    assert "x-rep: 1" in lines and "x-rep: 2" in lines  # repeated fields: separate lines
    assert head.endswith("\r\n\r\nabc")


async def test_default_user_agent_and_json_body():
    with ScriptedServer([Script([OK_HEAD + b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"ok\": 1}"])]) as srv:
        response = await HttpClient().post(srv.url + "/j", json={"a": [1, 2]})
    assert response.is_json() and response.decode_json() == {"ok": 1}
    request = srv.seen[0].request
    assert b"user-agent: Flowno/0.1\r\n" in request
    assert b"content-type: application/json\r\n" in request
    assert request.endswith(b'{"a": [1, 2]}')


async def test_chunked_body_split_everywhere(read_size):
    body = chunked(b"hel", b"lo ", b"world") 
    with ScriptedServer([Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body])]) as srv:
        response = await _get(srv.url + "/")
    assert response.body == b"hello world"


async def test_chunked_body_in_the_same_read_as_the_head_before_close():
    # flowno yielded nothing here (SPEC §6.1 item 15)
    payload = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"all in one read")
    with ScriptedServer([Script([payload]), Script([payload])]) as srv:
        assert (await _get(srv.url + "/")).body == b"all in one read"
        response = await HttpClient().stream_get(srv.url + "/")
        assert [chunk async for chunk in response.body] == [b"all in one read"]


async def test_close_delimited_body(read_size):
    with ScriptedServer([Script([b"HTTP/1.0 200 OK\r\n\r\n", b"until ", b"EOF"], pause=0.01)]) as srv:
        response = await _get(srv.url + "/")
    assert response.body == b"until EOF" and response.status == "HTTP/1.0 200 OK"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_gzip_and_deflate_bodies(read_size, encoding):
    text = b"compressible " * 200
    blob = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)
    head = OK_HEAD + b"Content-Encoding: " + encoding.encode()
    scripts = [
        Script([head + b"\r\nContent-Length: %d\r\n\r\n" % len(blob) + blob]),
        Script([head + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(blob[:10], blob[10:77], blob[77:])]),
    ]
    with ScriptedServer(scripts) as srv:
        assert (await _get(srv.url + "/")).body == text
        response = await HttpClient().stream_get(srv.url + "/")
        assert b"".join([chunk async for chunk in response.body]) == text


# -- SSE ------------------------------------------------------------------------------------------
SSE_BODY = (
    b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
    b": keep-alive comment\n\n"
    b'data: {"choices": [{"delta": {"content": "lo \\u00e9"}}]}\r\n\r\n'
    b'data: {"split": "across\n\n'
    b'data:  events"}\n\n'
    b"data: [DONE]\n\n"
    b'data: {"after": "done"}\n\n'
)


def _sse_pieces(body: bytes, size: int) -> bytes:
    return chunked(*[body[i : i + size] for i in range(0, len(body), size)])


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 17, 1000])
async def test_sse_json_values_whatever_the_chunk_and_read_boundaries(read_size, chunk_size):
    with ScriptedServer([Script([SSE_HEAD, _sse_pieces(SSE_BODY, chunk_size)], then="hold")]) as srv:
        with SocketTracker() as tracker:
            response = await HttpClient().stream_get(srv.url + "/v1/stream")
            assert isinstance(response, OkStreamingResponse) and streaming_response_is_ok(response)
            values = [value async for value in response.body]
        assert tracker.still_open == []
        assert await srv.client_closed()  # [DONE] closed the connection while the server held it open
    assert values == [
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo é"}}]},
        {"split": "across events"},
    ]
    assert response.body.done_received


async def test_sse_events_mode_and_raw_mode():
    body = chunked(b"event: tick\nid: 1\ndata: plain text\n\n", b"data: x\n\n")
    with ScriptedServer([Script([SSE_HEAD + body])]) as srv:
        response = await HttpClient().stream_get(srv.url + "/", sse="events")
        events = [event async for event in response.body]
        response = await HttpClient().stream_get(srv.url + "/", sse="raw")
        raw = b"".join([chunk async for chunk in response.body])
    assert events == [ServerSentEvent("plain text", "tick", "1"), ServerSentEvent("x", "message", "1")]
    assert raw == b"event: tick\nid: 1\ndata: plain text\n\ndata: x\n\n"


async def test_sse_data_that_is_not_json_is_a_protocol_error():
    with ScriptedServer([Script([SSE_HEAD + chunked(b"data: hello\n\n")], then="hold")]) as srv:
        response = await HttpClient().stream_get(srv.url + "/s")
        with pytest.raises(HttpProtocolError, match=r"GET http://127.0.0.1:\d+/s: SSE data is not JSON"):
            async for _ in response.body:
                pass
        assert await srv.client_closed()


# -- error statuses -----------------------------------------------------------------------------
async def test_error_status_streaming_bodies():
    json_error = b'{"error": "bad key"}'
    scripts = [
        Script([b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % len(json_error) + json_error]),
        Script([b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked(b'{"error":', b' "boom"}')]),
    ]
    with ScriptedServer(scripts) as srv:
        first = await HttpClient().stream_post(srv.url + "/chat", json={"x": 1})
        assert isinstance(first, ErrStreamingResponse) and not streaming_response_is_ok(first)
        assert first.body == json_error and first.is_json() and await first.decode_json() == {"error": "bad key"}
        assert first.status_code == 401
        second = await HttpClient().stream_get(srv.url + "/chat")
        assert isinstance(second, ErrStreamingResponse) and not isinstance(second.body, bytes)
        assert await second.decode_json() == {"error": "boom"}
        plain = await HttpClient().get(srv.url + "/x?api_key=secret")
    with pytest.raises(Exception) as info:
        plain.raise_for_status()
    message = str(info.value)
    assert "GET http://127.0.0.1" in message and "500" in message and "secret" not in message


# -- malformed and failed exchanges --------------------------------------------------------------
BAD_RESPONSES = {
    "bad-status-line": (Script([b"HTTP/1.1 2x0 OK\r\n\r\n"]), HttpProtocolError, "malformed response"),
    "not-http": (Script([b"SSH-2.0-OpenSSH\r\n\r\n"]), HttpProtocolError, "malformed response"),
    "bad-chunk-size": (Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"]),
                       HttpProtocolError, "chunk"),
    "chunk-size-lies": (Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"]),
                        HttpProtocolError, "chunk"),
    "truncated-length": (Script([OK_HEAD + b"Content-Length: 100\r\n\r\nonly a bit"]), IncompleteBodyError,
                         "connection closed by the server after 10 of the 100 bytes of the body (Content-Length)"),
    "truncated-chunked": (Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nab"]), IncompleteBodyError,
                          "connection closed by the server after 2 bytes of a chunked body"),
    "truncated-head": (Script([b"HTTP/1.1 200 OK\r\nContent-Le"]), HttpProtocolError,
                       "closed the connection in the middle of the response head"),
    "no-response": (Script([]), HttpConnectionError, "without sending a response"),
    "bad-gzip": (Script([OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip"]),
                 HttpProtocolError, "invalid gzip data"),
}


@pytest.mark.parametrize("case", sorted(BAD_RESPONSES))
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "stream"])
async def test_malformed_responses_give_clear_errors_and_close_the_socket(case, streaming, read_size):
    script, error_type, fragment = BAD_RESPONSES[case]
    before = open_fds()
    with ScriptedServer([script]) as srv:
        url = srv.url + "/bad?x=1"
        with SocketTracker() as tracker:
            with pytest.raises(error_type) as info:
                if streaming:
                    response = await HttpClient().stream_get(url)
                    async for _ in response.body:
                        pass
                else:
                    await HttpClient().get(url)
        assert tracker.still_open == []
    assert open_fds() <= before
    assert str(info.value).startswith(f"GET {url}: ")
    assert fragment in str(info.value)


async def test_refused_connection():
    with ScriptedServer([Script([])]) as srv:
        port = srv.port
    before = open_fds()
    with SocketTracker() as tracker:
        with pytest.raises(HttpConnectionError, match=rf"POST http://127.0.0.1:{port}/x: connection refused") as info:
            await HttpClient().post(f"http://127.0.0.1:{port}/x", data=b"1")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert tracker.still_open == [] and len(tracker.opened) == 1
    assert open_fds() <= before


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "127.0.0.1/x", "http://", "http://127.0.0.1:0x/"])
async def test_bad_urls(url):
    with SocketTracker() as tracker:
        with pytest.raises(InvalidURL, match="GET "):
            await HttpClient().get(url)
        with pytest.raises(InvalidURL):
            await HttpClient().stream_get(url)
    assert tracker.opened == []


async def test_bad_method_and_body_types():
    with pytest.raises(ValueError, match="invalid HTTP method"):
        await HttpClient().request("GE T", "http://127.0.0.1:1/")
    with pytest.raises(TypeError, match="json="):
        await HttpClient().request("POST", "http://127.0.0.1:1/", {"a": 1})  # type: ignore[arg-type]


async def test_informational_responses_are_skipped_and_101_is_refused():
    scripts = [
        Script([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                + OK_HEAD + b"Content-Length: 2\r\n\r\nok"]),
        Script([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"], then="hold"),
    ]
    with ScriptedServer(scripts) as srv:
        assert (await HttpClient().get(srv.url + "/")).body == b"ok"
        with SocketTracker() as tracker:
            with pytest.raises(HttpProtocolError, match="malformed response|protocol switches"):
                await HttpClient().get(srv.url + "/ws")
        assert tracker.still_open == []


async def test_plain_mappings_as_headers_and_response_helpers():
    body = b'{"error": "nope"}'
    with ScriptedServer([Script([b"HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json; charset=utf-8\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(body) + body])]) as srv:
        response = await HttpClient({"X-Client": "1"}).get(srv.url + "/x", extra_headers={"X-Call": "2"})
        errored = await HttpClient().stream_get(srv.url + "/x")
    request = srv.seen[0].request
    assert b"x-client: 1\r\n" in request and b"x-call: 2\r\n" in request
    assert response.is_json() and response.text() == body.decode() and not response.is_ok
    with pytest.raises(Exception, match=r"GET http://127.0.0.1:\d+/x: HTTP/1.1 404 Not Found"):
        await errored.raise_for_status()
