"""HttpServer against hostile or unusual framing (issue 12): request smuggling, HEAD, 100 Continue,
an HTTP/2 preface, keep-alive after a streamed response. Real sockets over loopback, real clock."""

from __future__ import annotations

import pytest

from flowno_core import socket
from flowno_core.io import HttpClient, HttpServer, StreamingResponse
from serverhelpers import parse_replies, raw_exchange


def make_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/page")
    async def page(request):
        return "a page of text"

    @server.route("/echo", methods=["POST"])
    async def echo(request):
        return request.body

    @server.route("/stream")
    async def stream(request):
        async def parts():
            for part in (b"one ", b"two ", b"three"):
                yield part

        return StreamingResponse(parts(), content_type="text/plain")

    @server.route("/custom-head", methods=["GET", "HEAD"])
    async def custom(request):
        return {"method": request.method}

    return server


# -- request smuggling (RFC 9112 section 6.1) -------------------------------------------------------
SMUGGLING = {
    "both Transfer-Encoding and Content-Length": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /page HTTP/1.1\r\nHost: a\r\n\r\n",
        b"Transfer-Encoding and Content-Length",
    ),
    "Transfer-Encoding first, then Content-Length": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n"
        b"0\r\n\r\nGET /page HTTP/1.1\r\nHost: a\r\n\r\n",
        b"Transfer-Encoding and Content-Length",
    ),
    "Content-Length twice, same value": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\ncontent-length: 4\r\n\r\nbody", b"repeats Content-Length",
    ),
    "Content-Length as a list": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nbody", b"repeats Content-Length",
    ),
    "conflicting Content-Length": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nbody", b"Content-Length",
    ),
    "Transfer-Encoding in HTTP/1.0": (
        b"POST /echo HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
        b"HTTP/1.0",
    ),
}


@pytest.mark.parametrize("case", list(SMUGGLING))
async def test_ambiguous_body_framing_gets_400_and_the_connection_is_closed(case):
    request, reason = SMUGGLING[case]
    async with make_server() as server:
        answer = await raw_exchange(server.port, request)  # returns only once the server closed
        replies = parse_replies(answer)
        assert [reply.status for reply in replies] == [400], answer  # the smuggled GET is never served
        assert replies[0].header("connection") == "close"
        assert reason in replies[0].body
        assert (await HttpClient().get(server.url + "/page")).status_code == 200


async def test_a_single_content_length_and_plain_chunked_bodies_are_served():
    async with make_server() as server:
        chunked = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"
        sized = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
        replies = parse_replies(await raw_exchange(server.port, chunked + sized))
    assert [(reply.status, reply.body) for reply in replies] == [(200, b"body"), (200, b"body")]


# -- HEAD wherever GET works ------------------------------------------------------------------------
async def test_head_gets_the_headers_of_get_and_no_body():
    async with make_server() as server:
        get = parse_replies(await raw_exchange(server.port, b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
        head_bytes = await raw_exchange(server.port, b"HEAD /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    head = parse_replies(head_bytes, maybe_head=True)
    assert head[0].status == 200 and head_bytes.endswith(b"\r\n\r\n")  # nothing after the head
    assert head[0].header("content-length") == str(len(b"a page of text")) == get[0].header("content-length")
    assert head[0].headers == get[0].headers


async def test_head_of_a_streamed_get_has_its_framing_and_no_body_and_keeps_the_connection():
    async with make_server() as server:
        data = await raw_exchange(server.port, b"HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\n"
                                               b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    head, get = parse_replies(data, maybe_head=True)
    assert head.status == 200 and head.header("transfer-encoding") == "chunked" and head.body == b""
    assert head.header("content-type") == "text/plain"
    assert get.body == b"a page of text"  # the same connection went on


async def test_head_with_the_client_and_routes_of_its_own():
    async with make_server() as server:
        client = HttpClient()
        response = await client.request("HEAD", server.url + "/page")
        assert response.status_code == 200 and response.body == b""
        assert response.headers.get("content-length") == "14"
        custom = await client.request("HEAD", server.url + "/custom-head")
        assert custom.status_code == 200 and custom.body == b""
        missing = await client.request("HEAD", server.url + "/missing")
        assert missing.status_code == 404 and missing.body == b""
        not_allowed = await client.request("HEAD", server.url + "/echo")
        assert not_allowed.status_code == 405 and not_allowed.headers.get("allow") == "POST"
        post_only = await client.request("PUT", server.url + "/page")
        assert post_only.headers.get("allow") == "GET, HEAD"


async def test_an_error_answer_to_head_has_no_body():
    async with HttpServer("127.0.0.1", 0, max_body_size=10) as server:
        data = await raw_exchange(server.port, b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 413 ") and data.endswith(b"\r\n\r\n")


# -- keep-alive, 100 Continue, HTTP/2 preface (issue 12, item 8) --------------------------------------
async def test_a_connection_is_reused_after_a_chunked_response():
    async with make_server() as server:
        sock = socket()
        try:
            await sock.connect(("127.0.0.1", server.port))
            for _ in range(3):
                await sock.sendAll(b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
                data = b""
                while not data.endswith(b"0\r\n\r\n"):
                    part = await sock.recv(65536)
                    assert part, "the server closed the connection after a streamed response"
                    data += part
                (reply,) = parse_replies(data)
                assert reply.body == b"one two three" and reply.header("connection") is None
        finally:
            sock.close()


async def test_a_client_with_keep_alive_reuses_the_connection_after_a_stream():
    server = make_server()
    peers = []

    @server.route("/who")
    async def who(request):
        peers.append(request.client)
        async def parts():
            yield b"streamed"
        return StreamingResponse(parts())

    async with server:
        async with HttpClient(keep_alive=True) as client:
            for _ in range(3):
                response = await client.stream_get(server.url + "/who")
                assert b"".join([chunk async for chunk in response.body]) == b"streamed"
    assert len(peers) == 3 and len(set(peers)) == 1


async def test_100_continue_has_its_reason_phrase():
    async with make_server() as server:
        answer = await raw_exchange(
            server.port,
            b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n",
            b"body",
            pause=0.01,
        )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert [reply.status for reply in parse_replies(answer)] == [100, 200]


async def test_an_http2_preface_gets_505_alone():
    async with make_server() as server:
        answer = await raw_exchange(server.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        (reply,) = parse_replies(answer)
        assert reply.status == 505 and reply.reason == "HTTP Version Not Supported"
        assert reply.header("connection") == "close" and b"HTTP/2.0 is not supported" in reply.body
        other_major = parse_replies(await raw_exchange(server.port, b"GET /page HTTP/3.0\r\nHost: a\r\n\r\n"))
        assert [r.status for r in other_major] == [505]
        # a higher minor version of HTTP/1 is served as HTTP/1.1 (RFC 9112 section 2.3)
        minor = parse_replies(await raw_exchange(server.port, b"GET /page HTTP/1.7\r\nHost: a\r\nConnection: close\r\n\r\n"))
        assert [r.status for r in minor] == [200]
