"""Proxies (issue 12): HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY (and lower-case forms) with
``trust_env``, an explicit ``proxy=``, CONNECT tunnels for https, proxy credentials, and clear
errors when the proxy refuses or is down. The proxy is ``SmallProxy`` below: a thread server on
loopback that forwards absolute-form requests and tunnels CONNECT, recording what it saw."""

from __future__ import annotations

import base64
import socket
import threading

import pytest

from flowno_core.io import HttpClient, HttpConnectionError, HttpServer, InvalidURL
from flowno_core.io.proxy import ProxyChoice, bypasses, make_route
from flowno_core.io._url import parse_url
from fakehttp import read_head
from iohelpers import Script, ScriptedServer, SocketTracker, ThreadServer, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

PROXY_VARIABLES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY", "REQUEST_METHOD"]


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class SmallProxy(ThreadServer):
    """A forward proxy: ``GET http://host:port/path`` is sent on to the origin (one request per
    connection), ``CONNECT host:port`` opens a byte tunnel. ``credentials`` ("user:pass") makes it
    answer 407 to requests without the matching Proxy-Authorization."""

    def __init__(self, credentials: str | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.seen: list[tuple[str, str, dict[str, str]]] = []  # (method, target, headers)

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            request = read_head(client)
            if request is None:
                return
            method, target, headers, rest = request
            self.seen.append((method, target, headers))
            if self.credentials is not None:
                expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
                if headers.get("proxy-authorization") != expected:
                    client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                   b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
                    return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                with socket.create_connection((host, int(port)), timeout=5) as origin:
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self._relay(client, origin, rest)
                return
            assert target.startswith("http://"), target
            authority, _, path = target[len("http://"):].partition("/")
            host, _, port = authority.rpartition(":")
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                rest += client.recv(65536)
            kept = [f"{name}: {value}" for name, value in headers.items() if name not in ("proxy-authorization", "connection")]
            request = "\r\n".join([f"{method} /{path} HTTP/1.1", *kept, "Connection: close", "", ""]).encode()
            with socket.create_connection((host, int(port)), timeout=5) as origin:
                origin.sendall(request + rest)
                self._relay(client, origin, b"")

    def _relay(self, client: socket.socket, origin: socket.socket, pending: bytes) -> None:
        if pending:
            origin.sendall(pending)
        done = threading.Event()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while not self._stop.is_set():
                    try:
                        chunk = src.recv(65536)
                    except (TimeoutError, socket.timeout):
                        continue
                    if not chunk:
                        break
                    dst.sendall(chunk)
            except OSError:
                pass
            done.set()

        for sock in (client, origin):
            sock.settimeout(0.05)
        self._spawn(pump, origin, client)
        pump(client, origin)
        done.wait(5)


def _origin() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/hello")
    async def hello(request):
        return {"path": request.path, "q": request.arg("q"), "via": request.headers.get("proxy-authorization")}

    return server


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_http_goes_through_the_environment_proxy_in_absolute_form(monkeypatch, variable):
    async with _origin() as origin:
        with SmallProxy() as proxy:
            monkeypatch.setenv(variable, proxy.url)
            response = await HttpClient().get(origin.url + "/hello?q=1")
    assert response.decode_json() == {"path": "/hello", "q": "1", "via": None}
    assert proxy.seen == [("GET", origin.url + "/hello?q=1", proxy.seen[0][2])]
    assert proxy.seen[0][2]["host"] == origin.url[len("http://"):]


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "all_proxy"])
async def test_https_goes_through_a_connect_tunnel(monkeypatch, tls_pair, variable):
    server_ctx, client_ctx = tls_pair
    body = b"secret over tls"
    script = Script([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body])
    before = open_fds()
    with ScriptedServer([script], tls=server_ctx) as origin, SmallProxy() as proxy:
        monkeypatch.setenv(variable, proxy.url)
        with SocketTracker() as tracker:
            response = await HttpClient(ssl_context=client_ctx).get(origin.url + "/x?q=2")
        assert tracker.still_open == []
    assert open_fds() <= before
    assert response.body == body
    assert [(m, t) for m, t, _ in proxy.seen] == [("CONNECT", f"127.0.0.1:{origin.port}")]
    assert origin.seen[0].request.startswith(b"GET /x?q=2 HTTP/1.1\r\n")  # the proxy never saw this


async def test_streams_go_through_proxies_too(monkeypatch, tls_pair):
    server_ctx, client_ctx = tls_pair
    sse = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 28\r\n\r\n"
           b'data: {"a": 1}\n\ndata: [DONE]\n\n')
    with ScriptedServer([Script([sse])], tls=server_ctx) as origin, SmallProxy() as proxy:
        client = HttpClient(ssl_context=client_ctx, proxy=proxy.url)
        response = await client.stream_get(origin.url + "/events")
        assert [value async for value in response.body] == [{"a": 1}]
    assert proxy.seen[0][0] == "CONNECT"


async def test_lower_case_wins_and_no_proxy_exempts_hosts(monkeypatch):
    async with _origin() as origin:
        with SmallProxy() as used, SmallProxy() as ignored:
            monkeypatch.setenv("HTTP_PROXY", ignored.url)
            monkeypatch.setenv("http_proxy", used.url)
            await HttpClient().get(origin.url + "/hello")
            assert len(used.seen) == 1 and ignored.seen == []
            for no_proxy in ["127.0.0.1", "*", "127.0.0.0/8", f"localhost,127.0.0.1:{origin.port}", ".0.0.1"]:
                monkeypatch.setenv("NO_PROXY", no_proxy)
                await HttpClient().get(origin.url + "/hello")
            assert len(used.seen) == 1 + 1  # only ".0.0.1" is not a match for an IP address
            monkeypatch.setenv("no_proxy", "localhost")  # lower-case wins: 127.0.0.1 is not exempt
            await HttpClient().get(origin.url + "/hello")
            assert len(used.seen) == 3


async def test_trust_env_false_ignores_the_environment(monkeypatch):
    async with _origin() as origin:
        with SmallProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            response = await HttpClient(trust_env=False).get(origin.url + "/hello")
            assert response.status_code == 200 and proxy.seen == []
            await HttpClient(trust_env=False, proxy=proxy.url).get(origin.url + "/hello")
            assert len(proxy.seen) == 1


async def test_cgi_scripts_ignore_upper_case_http_proxy(monkeypatch):
    async with _origin() as origin:
        with SmallProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("REQUEST_METHOD", "GET")  # httpoxy: a client could have set HTTP_PROXY
            await HttpClient().get(origin.url + "/hello")
    assert proxy.seen == []


async def test_proxy_credentials_are_sent_as_proxy_authorization(monkeypatch, tls_pair):
    server_ctx, client_ctx = tls_pair
    async with _origin() as origin:
        with SmallProxy(credentials="me:p@ss") as proxy:
            client = HttpClient(proxy=f"http://me:p%40ss@127.0.0.1:{proxy.port}", ssl_context=client_ctx)
            response = await client.get(origin.url + "/hello")
            assert response.status_code == 200 and response.decode_json()["via"] is None  # not forwarded
            with ScriptedServer([Script([b"HTTP/1.1 204 No Content\r\n\r\n"])], tls=server_ctx) as tls_origin:
                assert (await client.get(tls_origin.url + "/")).status_code == 204
    expected = "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert [headers.get("proxy-authorization") for _, _, headers in proxy.seen] == [expected, expected]


async def test_a_refused_tunnel_names_the_proxy_and_the_status(tls_pair):
    _, client_ctx = tls_pair
    before = open_fds()
    with SmallProxy(credentials="me:right") as proxy:
        with SocketTracker() as tracker:
            client = HttpClient(proxy=f"http://me:wrong@127.0.0.1:{proxy.port}", ssl_context=client_ctx)
            with pytest.raises(HttpConnectionError) as info:
                await client.get("https://api.example.test/v1/models")
        assert tracker.still_open == []
    assert open_fds() <= before
    assert str(info.value) == (f"GET https://api.example.test/v1/models: proxy http://me:***@127.0.0.1:{proxy.port} "
                               "refused the tunnel to api.example.test:443: 407 Proxy Authentication Required")
    assert "wrong" not in str(info.value)


async def test_a_proxy_that_is_down_is_named():
    with SmallProxy() as proxy:
        port = proxy.port
    with SocketTracker() as tracker:
        with pytest.raises(HttpConnectionError) as info:
            await HttpClient(proxy=f"127.0.0.1:{port}").get("http://example.test/")
    assert tracker.still_open == []
    assert str(info.value) == f"GET http://example.test/: connection refused by proxy http://127.0.0.1:{port}"


async def test_unsupported_proxies_are_refused_naming_where_they_came_from(monkeypatch):
    with pytest.raises(InvalidURL, match=r"HttpClient\(proxy=...\): only http:// proxies are supported, not socks5://"):
        HttpClient(proxy="socks5://127.0.0.1:1080")
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    client = HttpClient()
    with pytest.raises(InvalidURL) as info:
        await client.get("https://example.test/x")
    assert str(info.value).startswith("GET https://example.test/x: cannot use the proxy socks5://127.0.0.1:1080: "
                                      "the https_proxy environment variable: only http:// proxies")
    async with _origin() as origin:  # plain http does not use that proxy
        assert (await client.get(origin.url + "/hello")).status_code == 200


def test_no_proxy_matching():
    entries = ("example.com", ".corp.test", "10.0.0.0/8", "[::1]:8080", "api.test:8443", "*.wild.test")
    cases = {
        ("example.com", 80): True, ("www.example.com", 443): True, ("badexample.com", 80): False,
        ("corp.test", 80): True, ("a.b.corp.test", 80): True, ("10.9.8.7", 80): True, ("11.0.0.1", 80): False,
        ("::1", 8080): True, ("::1", 80): False, ("api.test", 8443): True, ("api.test", 443): False,
        ("x.wild.test", 80): True, ("EXAMPLE.COM", 80): True,
    }
    for (host, port), expected in cases.items():
        assert bypasses(host, port, entries) is expected, (host, port)
    assert bypasses("anything", 1, ("*",)) and not bypasses("anything", 1, ())


def test_routes_and_pool_keys():
    route = make_route("proxy.local:3128", "HTTP_PROXY")
    assert route.shown == "http://proxy.local:3128" and route.authorization is None
    http_a, http_b = parse_url("http://a.test/"), parse_url("http://b.test/")
    tls_a, tls_b = parse_url("https://a.test/"), parse_url("https://b.test/")
    assert route.pool_key(http_a) == route.pool_key(http_b)  # one proxy connection serves any http origin
    assert route.pool_key(tls_a) != route.pool_key(tls_b)  # a tunnel belongs to its origin
    assert ProxyChoice({}).route_for(http_a, "GET", "http://a.test/") is None
