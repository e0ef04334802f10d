"""ServerLimits (issue 12): head size and field count, body size, slow and idle clients, the number
of connections and of requests per connection. Timing tests run in virtual time with the server and
the client in one loop, so a 10 s header timeout takes no wall time and nothing depends on speed."""

from __future__ import annotations

import doctest

import pytest

from flowno_core import Event, sleep, socket, spawn
from flowno_core.io import HttpClient, HttpServer, ServerLimits
from flowno_core.io import limits as limits_module
from serverhelpers import parse_replies, raw_exchange


def make_server(**limits) -> HttpServer:
    server = HttpServer("127.0.0.1", 0, **limits)

    @server.route("/page", methods=["GET", "POST"])
    async def page(request):
        return "page"

    return server


# -- the limits object --------------------------------------------------------------------------------
def test_defaults_are_finite_and_documented_examples_run():
    limits = ServerLimits()
    assert limits.max_header_size == 16 * 1024 and limits.max_body_size == 1024 * 1024
    assert limits.header_timeout <= limits.request_timeout
    assert doctest.testmod(limits_module).failed == 0


def test_limits_come_from_an_object_or_keywords_and_bad_ones_are_refused_by_name():
    server = HttpServer(limits=ServerLimits(max_connections=8), idle_timeout=2)
    assert server.limits == ServerLimits(max_connections=8, idle_timeout=2)
    with pytest.raises(TypeError, match="unknown server limit.*max_sockets.*max_connections"):
        HttpServer(max_sockets=3)
    with pytest.raises(ValueError, match="ServerLimits.header_timeout must be a positive number, not -1"):
        HttpServer(header_timeout=-1)
    with pytest.raises(ValueError, match="max_body_size"):
        ServerLimits(max_body_size="big")  # type: ignore[arg-type]


# -- sizes ----------------------------------------------------------------------------------------------
async def test_too_many_header_fields_get_431():
    async with make_server(max_header_count=5) as server:
        fields = b"".join(b"X-%d: v\r\n" % i for i in range(5))
        too_many = await raw_exchange(server.port, b"GET /page HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n")
        (reply,) = parse_replies(too_many)
        assert reply.status == 431 and b"6 header fields; the limit is 5" in reply.body
        assert reply.header("connection") == "close"
        three = b"".join(b"X-%d: v\r\n" % i for i in range(3))
        just_enough = b"GET /page HTTP/1.1\r\nHost: a\r\n" + three + b"Connection: close\r\n\r\n"  # 5 fields
        assert [r.status for r in parse_replies(await raw_exchange(server.port, just_enough))] == [200]


async def test_a_head_bigger_than_the_limit_gets_431_whether_it_arrives_at_once_or_in_pieces():
    async with make_server(max_header_size=1024) as server:
        big = b"GET /page HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
        assert parse_replies(await raw_exchange(server.port, big))[0].status == 431
        pieces = [big[i : i + 100] for i in range(0, len(big), 100)]
        assert parse_replies(await raw_exchange(server.port, *pieces, pause=0.001))[0].status == 431


async def test_an_upload_refused_with_413_still_reads_its_answer():
    # the client goes on sending its body after the 413: the server drains it briefly instead of
    # resetting the connection, so the client sees the answer (blocking clients like requests do this)
    async with make_server(max_body_size=1000) as server:
        body = b"x" * 300_000
        head = b"POST /page HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
        replies = parse_replies(await raw_exchange(server.port, head, body, half_close=True))
        assert [r.status for r in replies] == [413]
        chunked = b"POST /page HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"y" * 1024 + b"\r\n"
        assert parse_replies(await raw_exchange(server.port, chunked, half_close=True))[0].status == 413


# -- time, in virtual time -----------------------------------------------------------------------------
async def test_a_slow_loris_client_dripping_one_byte_a_second_is_dropped_with_408(virtual_clock):
    head = b"GET /page HTTP/1.1\r\nHost: a\r\nUser-Agent: drip-drip-drip\r\n\r\n"
    async with make_server(header_timeout=10) as server:
        sent = 0
        sock = socket()
        await sock.connect(("127.0.0.1", server.port))
        try:
            for byte in head:
                try:
                    await sock.sendAll(bytes([byte]))
                except OSError:
                    break
                sent += 1
                await sleep(1)
            answer = b""
            while part := await sock.recv(65536):
                answer += part
        finally:
            sock.close()
        (reply,) = parse_replies(answer)
        assert reply.status == 408 and b"within 10s" in reply.body
        assert sent < len(head)  # cut off before its head was complete
        assert (await HttpClient().get(server.url + "/page")).status_code == 200


async def test_a_request_body_that_never_completes_gets_408(virtual_clock):
    async with make_server(request_timeout=20) as server:
        answer = await raw_exchange(server.port, b"POST /page HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    (reply,) = parse_replies(answer)
    assert reply.status == 408 and b"within 20s" in reply.body


async def test_connections_that_say_nothing_or_idle_too_long_are_closed_silently(virtual_clock):
    async with make_server(header_timeout=10, idle_timeout=5) as server:
        assert await raw_exchange(server.port) == b""  # connected, never spoke
        sock = socket()
        await sock.connect(("127.0.0.1", server.port))
        try:
            await sock.sendAll(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            answer = b""
            while part := await sock.recv(65536):  # served, then closed once idle for 5 s
                answer += part
        finally:
            sock.close()
    (reply,) = parse_replies(answer)
    assert reply.status == 200 and reply.header("connection") is None


# -- connections and requests per connection --------------------------------------------------------
async def test_at_max_connections_accept_waits_instead_of_failing():
    server = HttpServer("127.0.0.1", 0, max_connections=2)
    gate = Event()
    entered: list[str] = []

    @server.route("/wait/{name}")
    async def wait(request):
        entered.append(request.path_params["name"])
        await gate.wait()
        return request.path_params["name"]

    async with server:
        client = HttpClient()
        first = await spawn(client.get(server.url + "/wait/a"))
        second = await spawn(client.get(server.url + "/wait/b"))
        while len(entered) < 2:
            await sleep(0.01)
        third = await spawn(client.get(server.url + "/wait/c"))
        await sleep(0.2)  # the third connection is queued in the backlog, not refused
        assert sorted(entered) == ["a", "b"] and server.connection_count == 2
        await gate.set()
        bodies = [(await task.join()).body for task in (first, second, third)]
    assert bodies == [b"a", b"b", b"c"]


async def test_at_max_connections_an_idle_keep_alive_connection_makes_room():
    async with make_server(max_connections=1) as server:
        idle = socket()
        await idle.connect(("127.0.0.1", server.port))
        try:
            await idle.sendAll(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            first = await idle.recv(65536)
            assert parse_replies(first)[0].status == 200  # kept alive, now idle
            response = await HttpClient().get(server.url + "/page")
            assert response.status_code == 200
            assert await idle.recv(65536) == b""  # closed to make room
        finally:
            idle.close()


async def test_max_keepalive_requests_closes_after_the_last_one():
    async with make_server(max_keepalive_requests=2) as server:
        request = b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n"
        replies = parse_replies(await raw_exchange(server.port, request * 3))
    assert [r.status for r in replies] == [200, 200]
    assert [r.header("connection") for r in replies] == [None, "close"]
