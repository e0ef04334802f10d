"""Graceful shutdown (issue 12): ``stop(grace)`` stops accepting at once, closes idle connections,
lets requests in flight finish within the grace period (their answers say ``Connection: close``),
then cancels what is left and closes every socket."""

from __future__ import annotations

import pytest

from flowno_core import Event, sleep, socket, spawn
from flowno_core.io import HttpClient, HttpServer, StreamingResponse, Timeout
from iohelpers import open_fds
from serverhelpers import parse_replies, raw_exchange


async def refused(port: int) -> bool:
    probe = socket()
    try:
        await probe.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    finally:
        probe.close()
    return False


async def test_a_request_in_flight_finishes_while_new_connections_are_refused():
    before = open_fds()
    server = HttpServer("127.0.0.1", 0)
    entered, gate = Event(), Event()

    @server.route("/work")
    async def work(request):
        entered.set_nowait()
        await gate.wait()
        return "done"

    server.bind()
    serving = await spawn(server.serve())
    in_flight = await spawn(HttpClient().get(server.url + "/work"))
    await entered.wait()
    stopping = await spawn(server.stop(grace=30))
    await sleep(0)
    assert await refused(server.port)  # the listener is closed at once
    assert not stopping.is_finished and not in_flight.is_finished
    await gate.set()
    response = await in_flight.join()
    assert (response.status_code, response.body) == (200, b"done")
    assert response.headers.get("connection") == "close"
    await stopping.join()
    await serving.join()
    assert not serving.is_error and server.connection_count == 0
    assert open_fds() <= before


async def test_a_streamed_answer_in_flight_is_sent_to_its_end():
    server = HttpServer("127.0.0.1", 0)
    started, gate = Event(), Event()

    @server.route("/stream")
    async def stream(request):
        async def parts():
            yield b"first "
            started.set_nowait()
            await gate.wait()
            yield b"second"

        return StreamingResponse(parts())

    async with server:
        reading = await spawn(raw_exchange(server.port, b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"))
        await started.wait()
        stopping = await spawn(server.stop(grace=30))
        await sleep(0.05)
        await gate.set()
        await stopping.join()
        (reply,) = parse_replies(await reading.join())
    assert reply.status == 200 and reply.body == b"first second"


def page_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/page")
    async def page(request):
        return "page"

    return server


async def test_a_half_received_request_is_still_answered(virtual_clock):
    async with page_server() as server:
        sock = socket()
        await sock.connect(("127.0.0.1", server.port))
        try:
            await sock.sendAll(b"GET /page HTTP/1.1\r\n")
            await sleep(0.5)
            stopping = await spawn(server.stop(grace=30))
            await sleep(0.5)
            await sock.sendAll(b"Host: a\r\n\r\n")
            answer = b""
            while part := await sock.recv(65536):
                answer += part
        finally:
            sock.close()
        await stopping.join()
    (reply,) = parse_replies(answer)
    assert reply.status == 200 and reply.header("connection") == "close"


async def test_idle_connections_are_closed_at_once_without_waiting_for_the_grace(virtual_clock):
    server = page_server()
    async with server:
        client = HttpClient(keep_alive=True)
        await client.get(server.url + "/page")
        fresh = socket()
        await fresh.connect(("127.0.0.1", server.port))  # connected, has not spoken yet
        await sleep(0.1)
        start = virtual_clock.now()
        await server.stop(grace=3600)
        assert virtual_clock.now() - start < 3600  # nothing was in flight: no wait for the grace
        assert await fresh.recv(1) == b""
        fresh.close()
        client.close()
    assert server.connection_count == 0


async def test_after_the_grace_requests_still_running_are_cancelled_and_closed(virtual_clock):
    server = HttpServer("127.0.0.1", 0)
    entered, cleaned = Event(), Event()

    @server.route("/forever")
    async def forever(request):
        entered.set_nowait()
        try:
            await sleep(10**6)
        finally:
            cleaned.set_nowait()
        return "never"

    async with server:
        reading = await spawn(raw_exchange(server.port, b"GET /forever HTTP/1.1\r\nHost: a\r\n\r\n"))
        await entered.wait()
        start = virtual_clock.now()
        await server.stop(grace=10)
        assert virtual_clock.now() - start >= 10
        assert cleaned.is_set() and server.connection_count == 0
        assert await reading.join() == b""  # closed without an answer
    with pytest.raises(Exception, match="refused"):
        await HttpClient(timeout=Timeout(connect=1)).get(server.url + "/forever")
