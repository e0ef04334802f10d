"""HttpServer: routing, request parsing, responses, limits, slow clients, streaming, graceful stop."""

from __future__ import annotations

import json

import pytest

from flowno_core import Event, sleep, spawn
from flowno_core.io import (
    Headers,
    HTTPException,
    HttpClient,
    HttpServer,
    HttpTimeoutError,
    ServerResponse,
    ServerSentEvent,
    StreamingResponse,
    Timeout,
    sse_response,
)
from iohelpers import SocketTracker, open_fds
from serverhelpers import raw_exchange


def make_server(**kwargs) -> HttpServer:
    server = HttpServer("127.0.0.1", 0, **kwargs)

    @server.route("/items/{item_id}", methods=["GET", "DELETE"])
    async def item(request):
        if request.method == "DELETE":
            return ServerResponse(204)
        return {"id": request.path_params["item_id"], "page": request.arg("page"), "tags": request.query.get("t")}

    @server.route("/echo", methods=["POST", "PUT"])
    async def echo(request):
        headers = Headers({"X-Method": request.method})
        headers.add("Set-Cookie", "a=1")
        headers.add("Set-Cookie", "b=2")
        return ServerResponse(201, request.body, headers, request.headers.get("content-type"))

    @server.route("/json", methods=["POST"])
    async def parse(request):
        return {"sum": sum(request.json())}

    @server.route("/teapot")
    async def teapot(request):
        raise HTTPException(418, "I'm a teapot")

    @server.route("/crash")
    async def crash(request):
        raise RuntimeError("handler bug")

    @server.route("/none")
    async def nothing(request):
        return None

    @server.route("/sleep")
    async def sleepy(request):
        await sleep(60)
        return "late"

    return server


async def test_routing_methods_paths_and_query():
    async with make_server() as server:
        client = HttpClient()
        response = await client.get(server.url + "/items/42?page=3&t=a&t=b")
        assert response.decode_json() == {"id": "42", "page": "3", "tags": ["a", "b"]}
        assert (await client.request("DELETE", server.url + "/items/42")).status_code == 204
        missing = await client.get(server.url + "/nothing/here")
        assert missing.status == "HTTP/1.1 404 Not Found"
        wrong = await client.post(server.url + "/items/42", data=b"x")
        assert wrong.status_code == 405 and wrong.headers.get("allow") == "DELETE, GET, HEAD"
        assert (await client.get(server.url + "/none")).status_code == 204


async def test_request_body_headers_and_any_status():
    async with make_server() as server:
        response = await HttpClient().request("PUT", server.url + "/echo", b"payload \x00\xff",
                                              Headers({"Content-Type": "application/x-thing"}))
    assert response.status == "HTTP/1.1 201 Created"
    assert response.body == b"payload \x00\xff"
    assert response.headers.get("content-type") == "application/x-thing"
    assert response.headers.get("x-method") == "PUT"
    assert response.headers.get_all("set-cookie") == ["a=1", "b=2"]


async def test_handler_errors_become_statuses():
    async with make_server() as server:
        client = HttpClient()
        teapot = await client.get(server.url + "/teapot")
        assert teapot.status_code == 418 and teapot.body == b"I'm a teapot"
        crash = await client.get(server.url + "/crash")
        assert crash.status_code == 500 and b"handler bug" not in crash.body
        bad_json = await client.post(server.url + "/json", data=b"{not json")
        assert bad_json.status_code == 400
        assert (await client.post(server.url + "/json", json=[1, 2, 3])).decode_json() == {"sum": 6}


async def test_bad_requests_get_400_and_the_server_keeps_serving():
    async with make_server() as server:
        for garbage in [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", b"\x16\x03\x01\x02\x00\x01",
                        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"]:
            answer = await raw_exchange(server.port, garbage)
            assert answer.startswith(b"HTTP/1.1 400 "), (garbage, answer)
        assert (await HttpClient().get(server.url + "/items/1")).status_code == 200


async def test_oversized_head_gets_431_and_oversized_body_gets_413():
    async with make_server(max_header_size=1024, max_body_size=100) as server:
        huge_head = b"GET /items/1 HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
        assert (await raw_exchange(server.port, huge_head)).startswith(b"HTTP/1.1 431 ")
        declared = await HttpClient().post(server.url + "/echo", data=b"x" * 101)
        assert declared.status_code == 413 and b"larger than 100 bytes" in declared.body
        chunked_body = (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + b"40\r\n" + b"y" * 64 + b"\r\n" + b"40\r\n" + b"y" * 64 + b"\r\n0\r\n\r\n")
        assert (await raw_exchange(server.port, chunked_body)).startswith(b"HTTP/1.1 413 ")
        assert (await HttpClient().post(server.url + "/echo", data=b"x" * 100)).status_code == 201


async def test_slow_loris_client_is_cut_off_with_408():
    async with make_server(header_timeout=0.3, request_timeout=0.3) as server:
        # the head never completes: one header byte at a time, forever
        answer = await raw_exchange(server.port, b"GET /items/1 HTTP/1.1\r\n", *[b"X" for _ in range(40)],
                                    pause=0.02)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        # a body that never arrives
        answer = await raw_exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        assert answer.startswith(b"HTTP/1.1 408 ")
        # an idle connection that never sends anything is closed silently
        assert await raw_exchange(server.port) == b""


async def test_keep_alive_and_pipelined_requests_on_one_connection():
    async with make_server() as server:
        two = b"GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        answer = await raw_exchange(server.port, two)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert b'"id": "1"' in answer and b'"id": "2"' in answer


async def test_streaming_and_sse_responses():
    server = HttpServer("127.0.0.1", 0)

    @server.route("/lines")
    async def lines(request):
        async def gen():
            for i in range(3):
                yield f"line {i}\n"
                await sleep(0)
        return StreamingResponse(gen(), content_type="text/plain")

    @server.route("/events", methods=["POST"])
    async def events(request):
        prompt = request.json()["prompt"]

        async def gen():
            for word in prompt.split():
                yield {"choices": [{"delta": {"content": word}}]}
            yield ServerSentEvent("bye", event="end")

        return sse_response(gen(), done=True)

    async with server:
        client = HttpClient()
        response = await client.stream_get(server.url + "/lines")
        assert response.headers.get("transfer-encoding") == "chunked"
        assert b"".join([chunk async for chunk in response.body]) == b"line 0\nline 1\nline 2\n"
        response = await client.stream_post(server.url + "/events", json={"prompt": "a b c"}, sse="events")
        assert response.headers.get("content-type") == "text/event-stream"
        seen = [event async for event in response.body]
    assert [e.data for e in seen][:3] == [json.dumps({"choices": [{"delta": {"content": w}}]}) for w in "abc"]
    assert (seen[3].event, seen[3].data) == ("end", "bye")
    assert seen[4].data == "[DONE]"


async def test_flowno_style_subclass_with_generate_response():
    class Greeter(HttpServer):
        async def _generate_response(self, request_data: str) -> bytes:
            return f"you sent {request_data}".encode()

    async with Greeter("127.0.0.1", 0) as server:
        response = await HttpClient().get(server.url + "/any/path?x=1")
    assert response.status == "HTTP/1.1 200 OK" and response.body == b"you sent GET /any/path?x=1 HTTP/1.1"
    async with HttpServer("127.0.0.1", 0) as plain:
        assert (await HttpClient().get(plain.url + "/")).body.startswith(b"Hello, world!\nRequest: GET / HTTP/1.1")


async def test_port_zero_exposes_the_real_port_and_serve_runs_until_stop():
    server = make_server()
    port = server.bind()
    assert port != 0 and server.port == port and server.url == f"http://127.0.0.1:{port}"
    task = await spawn(server.serve())
    assert (await HttpClient().get(f"http://127.0.0.1:{port}/items/5")).status_code == 200
    await server.stop()
    await task.join()
    assert task.is_finished and not task.is_error


async def test_graceful_stop_finishes_requests_in_flight_and_closes_every_connection():
    before = open_fds()
    server = HttpServer("127.0.0.1", 0)
    entered = Event()

    @server.route("/slow")
    async def slow(request):
        await entered.set()
        await sleep(0.1)
        return "finished"

    async with server:
        client = HttpClient(keep_alive=True)
        await client.get(server.url + "/slow")  # leaves an idle keep-alive connection
        assert client.idle_connections == 1
        entered = Event()
        in_flight = await spawn(HttpClient().get(server.url + "/slow"))
        await entered.wait()
        await server.stop(grace=5)
        response = await in_flight.join()
        assert response.body == b"finished" and response.headers.get("connection") == "close"
        client.close()
    assert open_fds() <= before
    refused = await spawn(HttpClient(timeout=Timeout(connect=1)).get(server.url + "/slow"))
    with pytest.raises(Exception, match="connection refused"):
        await refused.join()


async def test_stop_cancels_handlers_that_outlive_the_grace_period():
    server = HttpServer("127.0.0.1", 0)
    cleaned = Event()

    @server.route("/forever")
    async def forever(request):
        try:
            await sleep(3600)
        finally:
            cleaned.set_nowait()

    async with server:
        with SocketTracker():
            pending = await spawn(HttpClient().get(server.url + "/forever"))
            await sleep(0.05)
            await server.stop(grace=0.05)
            assert cleaned.is_set()
            with pytest.raises(Exception):
                await pending.join()


async def test_many_clients_and_every_server_socket_closed():
    before = open_fds()
    async with make_server() as server:
        client = HttpClient()
        handles = [await spawn(client.get(f"{server.url}/items/{i}")) for i in range(30)]
        results = [(await handle.join()).decode_json()["id"] for handle in handles]
    assert results == [str(i) for i in range(30)]
    assert open_fds() <= before


async def test_in_loop_server_and_client_under_virtual_time(virtual_clock):
    # everything runs in the loop, so virtual time is deterministic: the 408 fires after exactly
    # header_timeout virtual seconds, however long the test takes in real time
    async with make_server(header_timeout=30.0) as server:
        assert (await HttpClient().get(server.url + "/items/1")).status_code == 200
        start = virtual_clock.now()
        answer = await raw_exchange(server.port, b"GET /items/1 HTTP/1.1\r\nHost: a\r\n")
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert virtual_clock.now() - start >= 30.0
        with pytest.raises(HttpTimeoutError) as info:
            await HttpClient(timeout=Timeout(read=5)).get(server.url + "/sleep")
        assert info.value.phase == "read"


async def test_upgrade_and_connect_requests_get_a_normal_answer_not_a_hang():
    async with make_server() as server:
        connect = await raw_exchange(server.port, b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n"
                                                  b"Connection: close\r\n\r\n")
        upgrade = await raw_exchange(server.port, b"GET /items/1 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n"
                                                  b"Upgrade: websocket\r\n\r\n")
    assert connect.startswith(b"HTTP/1.1 404 ")  # no route: the switch is denied
    assert upgrade.startswith(b"HTTP/1.1 200 OK")  # served as a plain GET


async def test_a_handler_returning_an_unsendable_response_gets_500():
    server = HttpServer("127.0.0.1", 0)

    @server.route("/bad-status")
    async def bad_status(request):
        return ServerResponse(1000, b"")

    @server.route("/bad-header")
    async def bad_header(request):
        return ServerResponse(200, b"", {"X-Bad": "a\r\nInjected: 1"})

    async with server:
        client = HttpClient()
        assert (await client.get(server.url + "/bad-status")).status_code == 500
        assert (await client.get(server.url + "/bad-header")).status_code == 500
        assert (await client.get(server.url + "/bad-header")).headers.get("injected") is None
