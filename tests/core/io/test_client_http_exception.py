"""HTTPException keeps what a caller needs to react to an error status (issue 12, item 6): the
status code, the response headers (Retry-After of a 429/503) and the decoded body; its message
shows the body as text. Over real sockets against HttpServer and a scripted server."""

from __future__ import annotations

import gzip
import pickle
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from flowno_core.io import HTTPException, HttpClient, HttpServer, ServerResponse
from flowno_core.io.errors import parse_retry_after
from iohelpers import Script, ScriptedServer, chunked

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time


def _limited_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/limited")
    async def limited(request):
        return ServerResponse(429, b'{"error": {"message": "Rate limit reached", "type": "requests"}}',
                              {"Retry-After": "7", "Content-Type": "application/json"})

    @server.route("/busy", methods=["POST"])
    async def busy(request):
        return ServerResponse(503, "service en maintenance: réessayez".encode(), {"Retry-After": "120"},
                              "text/plain; charset=utf-8")

    return server


async def test_raise_for_status_keeps_status_headers_and_body():
    async with _limited_server() as server:
        response = await HttpClient().get(server.url + "/limited")
    with pytest.raises(HTTPException) as info:
        response.raise_for_status()
    error = info.value
    assert error.status_code == 429 and error.status == "HTTP/1.1 429 Too Many Requests"
    assert error.headers.get("retry-after") == "7" and error.retry_after == 7.0
    assert error.body == response.body and error.message == response.body
    assert error.text.startswith('{"error": {"message": "Rate limit reached"')
    assert error.method == "GET" and error.url == server.url + "/limited"
    assert str(error) == (f"GET {server.url}/limited: HTTP/1.1 429 Too Many Requests: "
                          '{"error": {"message": "Rate limit reached", "type": "requests"}}')
    assert "b'" not in str(error)


async def test_streaming_error_keeps_the_same_fields():
    async with _limited_server() as server:
        response = await HttpClient().stream_post(server.url + "/busy", json={"x": 1})
        with pytest.raises(HTTPException) as info:
            await response.raise_for_status()
    error = info.value
    assert error.status_code == 503 and error.retry_after == 120.0
    assert error.text == "service en maintenance: réessayez"
    assert str(error).endswith("503 Service Unavailable: service en maintenance: réessayez")


async def test_a_compressed_chunked_error_body_is_decoded():
    packed = gzip.compress(b"quota exceeded")
    head = (b"HTTP/1.1 429 Too Many Requests\r\nContent-Encoding: gzip\r\nRetry-After: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    with ScriptedServer([Script([head + chunked(packed[:5], packed[5:])])] * 2) as srv:
        whole = await HttpClient().get(srv.url + "/q")
        streamed = await HttpClient().stream_get(srv.url + "/q")
        with pytest.raises(HTTPException) as from_stream:
            await streamed.raise_for_status()
    with pytest.raises(HTTPException) as from_whole:
        whole.raise_for_status()
    for error in (from_whole.value, from_stream.value):
        assert error.body == b"quota exceeded" and error.retry_after == 3.0
        assert str(error).endswith("HTTP/1.1 429 Too Many Requests: quota exceeded")


def test_flowno_constructor_still_works_and_server_side_use_is_unchanged():
    error = HTTPException(404, "no such note")
    assert error.status == 404 and error.status_code == 404 and error.message == "no such note"
    assert error.body == b"no such note" and len(error.headers) == 0 and error.retry_after is None
    assert str(error) == "404: no such note"
    assert str(HTTPException("HTTP/1.1 500 Internal Server Error")) == "HTTP/1.1 500 Internal Server Error"
    long = HTTPException(500, "x" * 2000)
    assert str(long).endswith("x" * 500 + "...") and len(str(long)) < 520
    latin = HTTPException(400, b"caf\xe9", headers={"Content-Type": "text/plain; charset=latin-1"})
    assert latin.text == "café" and str(latin) == "400: café"
    with pytest.raises(ValueError, match="header 'X-Bad'"):
        HTTPException(400, "x", headers={"X-Bad": "a\nb"})


def test_http_exception_pickles_with_its_fields():
    error = HTTPException("HTTP/1.1 429 Too Many Requests", b"slow", method="POST", url="http://h/x",
                          headers=[("Retry-After", "5"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is HTTPException and str(copy) == str(error)
    assert copy.retry_after == 5.0 and copy.headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert (copy.status, copy.message, copy.body, copy.method, copy.url) == (
        error.status, error.message, error.body, error.method, error.url)


def test_retry_after_forms():
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    assert 0 < parse_retry_after(soon) <= 90
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after(" 0 ") == 0.0
    for unreadable in ["", "-1", "1.5", "tomorrow", None]:
        assert parse_retry_after(unreadable) is None
