"""Interop (issue 12): our client against uvicorn serving a small ASGI app on loopback: GET, POST
JSON, a chunked streaming response, server-sent events, a 429 with Retry-After, and keep-alive
reuse after streams. uvicorn runs its own asyncio loop in a thread (its h11 protocol)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from flowno_core.io import HTTPException, HttpClient, IncompleteBodyError, streaming_response_is_ok
from iohelpers import SocketTracker

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    """A plain ASGI app (no framework): one branch per path."""
    assert scope["type"] == "http"
    path, method = scope["path"], scope["method"]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    peer = f"{scope['client'][0]}:{scope['client'][1]}"

    async def answer(status, payload, headers=(), content_type=b"application/json"):  # type: ignore[no-untyped-def]
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"x-peer", peer.encode()), *headers]})
        await send({"type": "http.response.body", "body": data})

    async def stream(parts, content_type):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type), (b"x-peer", peer.encode())]})
        for part in parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.001)
        await send({"type": "http.response.body", "body": b""})

    query = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)
    if path == "/hello" and method == "GET":
        await answer(200, {"hello": query.get("name"), "agent": dict(scope["headers"]).get(b"user-agent").decode()})
    elif path == "/echo" and method == "POST":
        await answer(201, {"received": json.loads(body), "type": dict(scope["headers"])[b"content-type"].decode()})
    elif path == "/chunks":
        await stream([b"part-%d;" % i for i in range(int(query.get("n", "5")))], b"text/plain")
    elif path == "/events":
        events = [b'data: {"token": "%d"}\n\n' % i for i in range(3)] + [b"data: [DONE]\n\n"]
        await stream(events, b"text/event-stream")
    elif path == "/limited":
        await answer(429, {"error": {"message": "Rate limit reached", "code": "rate_limit"}},
                     [(b"retry-after", b"2")])
    elif path == "/cut":  # the app dies mid-body: uvicorn closes the connection without the last chunk
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("the app failed mid-body (expected by the test)")
    else:
        await answer(404, {"error": "not found"})


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", http="h11", loop="asyncio",
                            lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def test_get_and_post_json(uvicorn_url):
    with SocketTracker() as tracker:
        client = HttpClient()
        response = await client.get(uvicorn_url + "/hello?name=flowno")
        assert response.raise_for_status().decode_json() == {"hello": "flowno", "agent": "Flowno/0.1"}
        created = await client.post(uvicorn_url + "/echo", json={"a": [1, 2], "b": "é"})
        assert created.status_code == 201
        assert created.decode_json() == {"received": {"a": [1, 2], "b": "é"}, "type": "application/json"}
    assert tracker.still_open == []


async def test_a_chunked_streaming_response(uvicorn_url):
    response = await HttpClient().stream_get(uvicorn_url + "/chunks?n=20")
    assert streaming_response_is_ok(response)
    assert response.headers.get("transfer-encoding") == "chunked"
    chunks = [chunk async for chunk in response.body]
    assert b"".join(chunks) == b"".join(b"part-%d;" % i for i in range(20))
    whole = await HttpClient().get(uvicorn_url + "/chunks?n=3")
    assert whole.body == b"part-0;part-1;part-2;"


async def test_server_sent_events(uvicorn_url):
    response = await HttpClient().stream_get(uvicorn_url + "/events")
    assert [event async for event in response.body] == [{"token": "0"}, {"token": "1"}, {"token": "2"}]
    raw = await HttpClient().stream_get(uvicorn_url + "/events", sse="events")
    assert [event.data async for event in raw.body][-1] == "[DONE]"


async def test_a_429_keeps_retry_after_status_and_body(uvicorn_url):
    for streaming in (False, True):
        with pytest.raises(HTTPException) as info:
            if streaming:
                await (await HttpClient().stream_post(uvicorn_url + "/limited", json={})).raise_for_status()
            else:
                (await HttpClient().get(uvicorn_url + "/limited")).raise_for_status()
        error = info.value
        assert error.status_code == 429 and error.retry_after == 2.0 and error.headers.get("retry-after") == "2"
        assert json.loads(error.body) == {"error": {"message": "Rate limit reached", "code": "rate_limit"}}
        assert str(error).endswith('429 Too Many Requests: {"error": {"message": "Rate limit reached", '
                                   '"code": "rate_limit"}}')


async def test_keep_alive_reuses_the_connection_after_streams(uvicorn_url):
    async with HttpClient(keep_alive=True) as client:
        peers = set()
        for path in ["/events", "/chunks?n=4", "/events", "/hello?name=x"]:
            if path.startswith("/hello"):
                response = await client.get(uvicorn_url + path)
            else:
                response = await client.stream_get(uvicorn_url + path)
                [item async for item in response.body]
            peers.add(response.headers.get("x-peer"))
            assert client.idle_connections == 1
    assert len(peers) == 1


async def test_an_app_failing_mid_body_is_an_incomplete_response(uvicorn_url):
    response = await HttpClient().stream_get(uvicorn_url + "/cut")
    with pytest.raises(IncompleteBodyError, match=r"GET .*/cut: connection closed by the server after 7 bytes "
                                                  r"of a chunked body"):
        [chunk async for chunk in response.body]
