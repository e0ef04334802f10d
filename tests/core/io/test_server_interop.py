"""Third-party clients against HttpServer over loopback (issue 12): httpx and requests, the two
clients users reach for, for plain, chunked and streamed bodies, keep-alive and HEAD."""

from __future__ import annotations

import json

import pytest

from flowno_core import sleep
from flowno_core.io import HttpServer, ServerThread, StreamingResponse, sse_response

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")


def make_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0, max_body_size=64 * 1024)
    server.peers = []  # type: ignore[attr-defined]

    @server.route("/items/{item_id}")
    async def item(request):
        server.peers.append(request.client)  # type: ignore[attr-defined]
        return {"id": request.path_params["item_id"], "page": request.arg("page")}

    @server.route("/upload", methods=["POST", "PUT"])
    async def upload(request):
        server.peers.append(request.client)  # type: ignore[attr-defined]
        return {"size": len(request.body), "chunked": request.headers.get("transfer-encoding") == "chunked",
                "head": request.body[:10].decode()}

    @server.route("/count/{n}")
    async def count(request):
        server.peers.append(request.client)  # type: ignore[attr-defined]

        async def numbers():
            for i in range(int(request.path_params["n"])):
                yield f"{i}\n"
                await sleep(0)

        return StreamingResponse(numbers(), content_type="text/plain")

    @server.route("/events")
    async def events(request):
        async def tokens():
            for word in ("alpha", "beta"):
                yield {"token": word}

        return sse_response(tokens(), done=True)

    return server


def parts(total: int, size: int = 1000):
    for start in range(0, total, size):
        yield b"u" * min(size, total - start)


def test_httpx_get_post_chunked_upload_stream_keep_alive_and_head():
    server = make_server()
    with ServerThread(server) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/items/7", params={"page": 2}).json() == {"id": "7", "page": "2"}
        posted = client.post("/upload", content=b"0123456789" * 100)
        assert posted.status_code == 200 and posted.json() == {"size": 1000, "chunked": False, "head": "0123456789"}
        chunked = client.put("/upload", content=parts(5500))
        assert chunked.json() == {"size": 5500, "chunked": True, "head": "u" * 10}
        with client.stream("GET", "/count/500") as streamed:
            assert streamed.headers["transfer-encoding"] == "chunked"
            text = b"".join(streamed.iter_bytes()).decode()
        assert text.split() == [str(i) for i in range(500)]
        assert client.get("/items/8").json()["id"] == "8"  # after the stream, on the same connection
        head = client.head("/items/7")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(json.dumps({"id": "7", "page": None}))
        with client.stream("GET", "/events") as events:
            lines = [line for line in events.iter_lines() if line]
        assert lines == ['data: {"token": "alpha"}', 'data: {"token": "beta"}', "data: [DONE]"]
        too_big = client.post("/upload", content=b"x" * (200 * 1024))
        assert too_big.status_code == 413
    assert len(server.peers) == 6 and len(set(server.peers)) == 1  # type: ignore[attr-defined]


def test_requests_get_post_chunked_upload_stream_keep_alive_and_head():
    server = make_server()
    with ServerThread(server) as url, requests.Session() as session:
        assert session.get(url + "/items/7", params={"page": 2}, timeout=10).json() == {"id": "7", "page": "2"}
        posted = session.post(url + "/upload", data=b"0123456789" * 100, timeout=10)
        assert posted.json() == {"size": 1000, "chunked": False, "head": "0123456789"}
        chunked = session.post(url + "/upload", data=parts(5500), timeout=10)
        assert chunked.json() == {"size": 5500, "chunked": True, "head": "u" * 10}
        with session.get(url + "/count/300", stream=True, timeout=10) as streamed:
            assert streamed.headers["Transfer-Encoding"] == "chunked"
            text = b"".join(streamed.iter_content(chunk_size=None)).decode()
        assert text.split() == [str(i) for i in range(300)]
        assert session.get(url + "/items/8", timeout=10).json()["id"] == "8"
        head = session.head(url + "/items/7", timeout=10)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(json.dumps({"id": "7", "page": None})))
        too_big = session.post(url + "/upload", data=b"x" * (200 * 1024), timeout=10)
        assert too_big.status_code == 413 and b"larger than 65536 bytes" in too_big.content
    assert len(server.peers) == 6 and len(set(server.peers)) == 1  # type: ignore[attr-defined]
