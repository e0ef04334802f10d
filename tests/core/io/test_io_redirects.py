"""Redirects: followed with the right method and body, bounded, optional, credentials kept in-origin."""

from __future__ import annotations

import pytest

from flowno_core.io import Headers, HttpClient, HttpServer, ServerResponse, TooManyRedirects

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time


def redirect_server() -> tuple[HttpServer, list]:
    server = HttpServer("127.0.0.1", 0)
    log: list = []

    @server.route("/hop/{n}", methods=["GET", "POST"])
    async def hop(request):
        n = int(request.path_params["n"])
        log.append((request.method, request.path, request.body))
        if n == 0:
            return ServerResponse(200, b"arrived:" + request.body, {"X-Query": request.query_string})
        return ServerResponse(302, b"moved", {"Location": f"/hop/{n - 1}?from={n}"})

    @server.route("/see-other", methods=["POST"])
    async def see_other(request):
        log.append((request.method, request.path, request.body))
        return ServerResponse(303, b"", {"Location": "/hop/0"})

    @server.route("/temporary", methods=["POST"])
    async def temporary(request):
        log.append((request.method, request.path, request.body))
        return ServerResponse(307, b"", {"Location": "/hop/0"})

    @server.route("/loop")
    async def loop(request):
        log.append((request.method, request.path, request.body))
        return ServerResponse(301, b"", {"Location": "/loop"})

    @server.route("/whoami")
    async def whoami(request):
        return {"auth": request.headers.get("authorization"), "custom": request.headers.get("x-custom")}

    return server, log


async def test_redirect_chain_is_followed_with_query_strings():
    server, log = redirect_server()
    async with server:
        response = await HttpClient().get(server.url + "/hop/3")
    assert response.status_code == 200 and response.body == b"arrived:"
    assert response.headers.get("x-query") == "from=1"
    assert response.url == server.url + "/hop/0?from=1"
    assert [path for _, path, _ in log] == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]


async def test_post_becomes_get_on_302_and_303_but_not_on_307():
    server, log = redirect_server()
    async with server:
        client = HttpClient()
        assert (await client.post(server.url + "/hop/1", data=b"body")).body == b"arrived:"
        assert (await client.post(server.url + "/see-other", data=b"body")).body == b"arrived:"
        assert (await client.post(server.url + "/temporary", data=b"body")).body == b"arrived:body"
    assert log == [
        ("POST", "/hop/1", b"body"), ("GET", "/hop/0", b""),
        ("POST", "/see-other", b"body"), ("GET", "/hop/0", b""),
        ("POST", "/temporary", b"body"), ("POST", "/hop/0", b"body"),
    ]


@pytest.mark.parametrize("keep_alive", [False, True])
async def test_redirect_loops_are_bounded(keep_alive):
    server, log = redirect_server()
    async with server:
        client = HttpClient(max_redirects=4, keep_alive=keep_alive)
        with pytest.raises(TooManyRedirects) as info:
            await client.get(server.url + "/loop")
        client.close()
    assert len(log) == 5
    assert str(info.value).startswith(f"GET {server.url}/loop: more than 4 redirects: ")
    assert len(info.value.history) == 6


async def test_redirects_can_be_turned_off():
    server, log = redirect_server()
    async with server:
        response = await HttpClient(follow_redirects=False).get(server.url + "/hop/2")
        assert response.status_code == 302 and response.headers.get("location") == "/hop/1?from=2"
        followed = await HttpClient(follow_redirects=False).request("GET", server.url + "/hop/1",
                                                                    follow_redirects=True)
        assert followed.status_code == 200
        streamed = await HttpClient().stream_get(server.url + "/hop/2")
        assert b"".join([chunk async for chunk in streamed.body]) == b"arrived:"


async def test_credentials_are_not_sent_to_another_origin():
    target, _ = redirect_server()
    origin = HttpServer("127.0.0.1", 0)

    async with target:
        @origin.route("/go")
        async def go(request):
            # same host, different port: a different origin
            return ServerResponse(302, b"", {"Location": target.url + "/whoami"})

        @origin.route("/stay")
        async def stay(request):
            return ServerResponse(302, b"", {"Location": "/whoami"})

        @origin.route("/whoami")
        async def whoami(request):
            return {"auth": request.headers.get("authorization")}

        async with origin:
            client = HttpClient(Headers({"Authorization": "Bearer sk-secret"}))
            same = await client.get(origin.url + "/stay")
            other = await client.get(origin.url + "/go", extra_headers=Headers({"X-Custom": "kept"}))
    assert same.decode_json() == {"auth": "Bearer sk-secret"}
    assert other.decode_json() == {"auth": None, "custom": "kept"}
