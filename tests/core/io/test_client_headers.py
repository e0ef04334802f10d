"""Header validation at the call site (issue 12, item 3): a bad header is refused with a ValueError
naming it, by ``Headers`` and by every client API that takes headers, before any socket is opened;
good headers still reach a real server unchanged."""

from __future__ import annotations

import pytest

from flowno_core.io import Headers, HttpClient, HttpServer
from flowno_core.io._url import parse_url
from iohelpers import Script, ScriptedServer, SocketTracker

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

BAD_VALUES = {
    "crlf-injection": ("X-Trace", "a\r\nX-Injected: 1", "CR, LF or NUL"),
    "lone-lf": ("X-Trace", "a\nb", "CR, LF or NUL"),
    "nul": ("X-Trace", "a\x00b", "CR, LF or NUL"),
    "non-ascii-value": ("X-Name", "Zoë", "non-ASCII character 'ë'"),
    "emoji-value": ("X-Name", "ok 🚀", "non-ASCII"),
    "control-char": ("X-Name", "a\x07b", "control character"),
    "delete-char": ("X-Name", "a\x7fb", "control character"),
}
BAD_NAMES = {
    "non-ascii-name": ("X-Naïve", "header names must be ASCII"),
    "space-in-name": ("X Bad", "invalid header name"),
    "crlf-in-name": ("X-A\r\nX-B", "invalid header name"),
    "colon-in-name": ("X:A", "invalid header name"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_headers_refuse_bad_values_naming_the_header(case):
    name, value, fragment = BAD_VALUES[case]
    for build in (lambda: Headers({name: value}), lambda: Headers([(name, value)]),
                  lambda: Headers().set(name, value), lambda: Headers().add(name, value),
                  lambda: Headers().set(name, ["fine", value])):
        with pytest.raises(ValueError) as info:
            build()
        assert f"header {name!r}" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_headers_refuse_bad_names_naming_them(case):
    name, fragment = BAD_NAMES[case]
    with pytest.raises(ValueError) as info:
        Headers().set(name, "v")
    assert repr(name) in str(info.value) and fragment in str(info.value)


def test_tabs_and_visible_ascii_are_kept():
    headers = Headers({"X-A": "a\tb ~!", "X-Empty": ""})
    assert headers.get("x-a") == "a\tb ~!" and headers.get("x-empty") == ""


def _calls(url: str, name: str, value: str):
    bad = {name: value}
    yield "client headers", lambda: HttpClient(bad)
    yield "get", lambda: HttpClient().get(url, extra_headers=bad)
    yield "post", lambda: HttpClient().post(url, json={"a": 1}, extra_headers=bad)
    yield "request", lambda: HttpClient().request("PUT", url, b"x", bad)
    yield "stream_get", lambda: HttpClient().stream_get(url, extra_headers=bad)
    yield "stream_post", lambda: HttpClient().stream_post(url, data=b"x", extra_headers=bad)
    yield "stream_request", lambda: HttpClient().stream_request("GET", url, extra_headers=[(name, value)])


@pytest.mark.parametrize("case", ["crlf-injection", "non-ascii-value"])
async def test_client_apis_refuse_bad_headers_before_connecting(case):
    name, value, fragment = BAD_VALUES[case]
    with ScriptedServer([Script([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])]) as srv:
        with SocketTracker() as tracker:
            for label, call in _calls(srv.url + "/x", name, value):
                with pytest.raises(ValueError) as info:
                    result = call()
                    if not isinstance(result, HttpClient):
                        await result
                assert f"header {name!r}" in str(info.value) and fragment in str(info.value), label
        assert tracker.opened == []
    assert srv.seen == []


async def test_client_refuses_a_non_ascii_header_name():
    with SocketTracker() as tracker:
        with pytest.raises(ValueError, match="'X-Naïve'.*must be ASCII"):
            await HttpClient().get("http://127.0.0.1:9/", extra_headers={"X-Naïve": "1"})
    assert tracker.opened == []


async def test_valid_headers_reach_a_real_server_and_repeated_ones_stay_separate():
    server = HttpServer("127.0.0.1", 0)

    @server.route("/echo")
    async def echo(request):
        return {"trace": request.headers.get_all("x-trace"), "tab": request.headers.get("x-tab")}

    async with server:
        extra = Headers([("X-Trace", "one"), ("X-Trace", "two")])
        extra.set("X-Tab", "a\tb")
        response = await HttpClient().get(server.url + "/echo", extra_headers=extra)
    assert response.decode_json() == {"trace": ["one", "two"], "tab": "a\tb"}


def test_non_ascii_host_names_are_sent_in_idna_form():
    target = parse_url("http://bücher.example:8080/ä?q=ü")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example:8080"
    assert target.target == "/%C3%A4?q=%C3%BC"
