"""flowno_nodes.connectors.http: HttpGet, HttpPost and SSESource in real flows against a loopback
HttpServer (on its own thread; see nodehelpers.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from flowno_core import FlowHDL, Stream, node, sleep
from flowno_core.io import (
    HTTPException,
    HttpConnectionError,
    HttpProtocolError,
    HttpServer,
    HttpTimeoutError,
    InvalidURL,
    ServerResponse,
    ServerSentEvent,
    Timeout,
    sse_response,
)
from flowno_nodes import HttpGet, HttpPost, Secret, SSESource
from nodehelpers import WAIT, ServerThread, SocketTracker

import threading


class Seen:
    def __init__(self) -> None:
        self.headers: list[dict[str, str | None]] = []
        self.endless_closed = threading.Event()
        self.endless_sent = 0


def _server() -> tuple[HttpServer, Seen]:
    server = HttpServer("127.0.0.1", 0)
    seen = Seen()

    @server.route("/items/{item_id}")
    async def item(request):  # type: ignore[no-untyped-def]
        seen.headers.append({"x-token": request.headers.get("x-token"), "x-trace": request.headers.get("x-trace")})
        if request.path_params["item_id"] == "404":
            raise HTTPException(404, "no such item")
        return {"id": request.path_params["item_id"], "page": request.arg("page")}

    @server.route("/text")
    async def text(request):  # type: ignore[no-untyped-def]
        return "plain text é"

    @server.route("/blob")
    async def blob(request):  # type: ignore[no-untyped-def]
        return b"\x00\x01binary"

    @server.route("/empty-json")
    async def empty_json(request):  # type: ignore[no-untyped-def]
        return ServerResponse(200, b"", None, "application/json")

    @server.route("/bad-json")
    async def bad_json(request):  # type: ignore[no-untyped-def]
        return ServerResponse(200, b"{not json", None, "application/json")

    @server.route("/echo", methods=["POST"])
    async def echo(request):  # type: ignore[no-untyped-def]
        if request.headers.get("content-type") == "application/json":
            return {"json": request.json()}
        return ServerResponse(200, request.body, None, "application/octet-stream")

    @server.route("/fail", methods=["GET", "POST"])
    async def fail(request):  # type: ignore[no-untyped-def]
        raise HTTPException(503, "try later")

    @server.route("/slow")
    async def slow(request):  # type: ignore[no-untyped-def]
        await sleep(60)
        return "too late"

    @server.route("/events", methods=["GET", "POST"])
    async def events(request):  # type: ignore[no-untyped-def]
        count = int(request.arg("n", "4"))
        start = request.json()["start"] if request.method == "POST" else 0

        async def gen():  # type: ignore[no-untyped-def]
            for i in range(start, start + count):
                yield {"i": i}
                await sleep(0)

        return sse_response(gen(), done=True)

    @server.route("/named")
    async def named(request):  # type: ignore[no-untyped-def]
        async def gen():  # type: ignore[no-untyped-def]
            yield ServerSentEvent("hello", event="greeting", id="1")
            yield ServerSentEvent("not json at all", event="note", id="2")

        return sse_response(gen())

    @server.route("/endless")
    async def endless(request):  # type: ignore[no-untyped-def]
        async def gen():  # type: ignore[no-untyped-def]
            try:
                while True:
                    seen.endless_sent += 1
                    yield {"n": seen.endless_sent}
                    await sleep(0.001)
            finally:
                seen.endless_closed.set()

        return sse_response(gen())

    return server, seen


@pytest.fixture
def served() -> Iterator[tuple[str, Seen]]:
    server, seen = _server()
    with ServerThread(server) as url:
        yield url, seen


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def run_one(draft_factory):  # type: ignore[no-untyped-def]
    """Run a flow with one node and return (its value, the socket tracker)."""
    with FlowHDL() as f:
        f.result = draft_factory()
    with SocketTracker() as tracker:
        f.run_until_complete()
    assert tracker.still_open == []
    return f.result.get_data()[0], tracker


# -- HttpGet / HttpPost --------------------------------------------------------------------------
def test_get_decodes_json_and_sends_query_and_headers(served):
    url, seen = served
    value, tracker = run_one(lambda: HttpGet(url + "/items/7?page=2", {"X-Token": Secret("t0ken"), "X-Trace": "a"}))
    assert value == {"id": "7", "page": "2"}
    assert seen.headers == [{"x-token": "t0ken", "x-trace": "a"}]
    assert len(tracker.opened) == 1


def test_get_returns_text_for_text_and_bytes_for_binary(served):
    url, _ = served
    assert run_one(lambda: HttpGet(url + "/text"))[0] == "plain text é"
    assert run_one(lambda: HttpGet(url + "/blob"))[0] == b"\x00\x01binary"
    assert run_one(lambda: HttpGet(url + "/empty-json"))[0] is None


def test_get_url_and_keywords_can_come_from_other_nodes(served):
    url, _ = served

    @node
    async def MakeUrl(item: int) -> str:
        return f"{url}/items/{item}"

    with FlowHDL() as f:
        f.url = MakeUrl(3)
        f.item = HttpGet(f.url, timeout=Timeout(connect=5, read=5))
    f.run_until_complete()
    assert f.item.get_data() == ({"id": "3", "page": None},)


def test_post_json_and_raw_data(served):
    url, _ = served
    assert run_one(lambda: HttpPost(url + "/echo", {"a": [1, 2]}))[0] == {"json": {"a": [1, 2]}}
    assert run_one(lambda: HttpPost(url + "/echo", data=b"raw body"))[0] == b"raw body"
    assert run_one(lambda: HttpPost(url + "/echo", None, "text body"))[0] == b"text body"


def test_post_json_from_an_upstream_node(served):
    url, _ = served

    @node
    async def Doc(n: int) -> dict:
        return {"n": n, "tags": ["x"]}

    with FlowHDL() as f:
        f.doc = Doc(5)
        f.saved = HttpPost(url + "/echo", f.doc)
    f.run_until_complete()
    assert f.saved.get_data() == ({"json": {"n": 5, "tags": ["x"]}},)


@pytest.mark.parametrize(("factory", "method", "path"), [
    (lambda url: HttpGet(url + "/items/404"), "GET", "/items/404"),
    (lambda url: HttpPost(url + "/fail", {"x": 1}), "POST", "/fail"),
])
def test_error_status_names_method_url_and_status(served, factory, method, path):
    url, _ = served
    with pytest.raises(HTTPException) as caught:
        run_one(lambda: factory(url))
    message = str(caught.value)
    assert message.startswith(f"{method} {url}{path}: ")
    assert str(caught.value.status_code) in message
    assert caught.value.status_code in (404, 503)


def test_body_that_is_not_the_json_it_claims(served):
    url, _ = served
    with pytest.raises(ValueError, match=r"GET .*/bad-json: the response says it is JSON"):
        run_one(lambda: HttpGet(url + "/bad-json"))


def test_refused_connection_is_a_clear_error(refused_url):
    with pytest.raises(HttpConnectionError) as caught:
        run_one(lambda: HttpGet(refused_url + "/x"))
    assert str(caught.value).startswith(f"GET {refused_url}/x: ")
    with pytest.raises(HttpConnectionError, match=r"^POST "):
        run_one(lambda: HttpPost(refused_url + "/x", {"a": 1}))


@pytest.mark.parametrize("bad", ["ftp://example.com/x", "http://", "not a url", "http://127.0.0.1:99999/x"])
def test_bad_url_is_a_clear_error(bad):
    with pytest.raises(InvalidURL, match=r"^GET "):
        run_one(lambda: HttpGet(bad))


def test_url_that_is_not_a_string():
    with pytest.raises(TypeError, match="HttpGet: url must be a str"):
        run_one(lambda: HttpGet(None))


def test_read_timeout_is_a_clear_error(served):
    url, _ = served
    with pytest.raises(HttpTimeoutError, match=r"^GET .*/slow: read timeout"):
        run_one(lambda: HttpGet(url + "/slow", timeout=Timeout(connect=5, read=0.2)))


def test_unknown_keyword_lists_the_parameters():
    with pytest.raises(TypeError, match=r"HttpGet\(\): .*url, headers, timeout"):
        with FlowHDL() as f:
            f.x = HttpGet("http://127.0.0.1/", retries=3)
    with pytest.raises(TypeError, match="missing the required argument 'url'"):
        with FlowHDL() as f:
            f.x = HttpGet(timeout=3)


# -- SSESource ------------------------------------------------------------------------------------
@node(stream_in=["events"])
async def Collect(events: Stream[object]):  # type: ignore[no-untyped-def]
    seen = []
    async for event in events:
        seen.append(event)
    return seen


def test_sse_source_streams_json_values_to_a_consumer(served):
    url, _ = served
    with FlowHDL() as f:
        f.events = SSESource(url + "/events?n=5")
        f.seen = Collect(f.events)
    with SocketTracker() as tracker:
        f.run_until_complete()
    assert f.seen.get_data() == ([{"i": i} for i in range(5)],)
    assert f.events.get_data() == (5,)  # the final value is the number of events
    assert tracker.still_open == [] and len(tracker.opened) == 1


def test_sse_source_posts_json_when_given(served):
    url, _ = served
    with FlowHDL() as f:
        f.events = SSESource(url + "/events?n=2", json={"start": 10})
        f.seen = Collect(f.events)
    f.run_until_complete()
    assert f.seen.get_data() == ([{"i": 10}, {"i": 11}],)


def test_sse_source_events_mode_yields_server_sent_events(served):
    url, _ = served
    with FlowHDL() as f:
        f.events = SSESource(url + "/named", "events")
        f.seen = Collect(f.events)
    f.run_until_complete()
    (events,) = f.seen.get_data()
    assert [(e.event, e.data, e.id) for e in events] == [("greeting", "hello", "1"), ("note", "not json at all", "2")]


def test_cancelling_the_sse_stream_closes_the_connection(served):
    url, seen = served

    @node(stream_in=["events"])
    async def TakeThree(events: Stream[dict]):  # type: ignore[no-untyped-def]
        taken = []
        async for event in events:
            taken.append(event["n"])
            if len(taken) == 3:
                await events.cancel()
                break
        return taken

    with FlowHDL() as f:
        f.events = SSESource(url + "/endless")
        f.taken = TakeThree(f.events)
    with SocketTracker() as tracker:
        f.run_until_complete()
    assert f.taken.get_data() == ([1, 2, 3],)
    assert tracker.still_open == []
    assert seen.endless_closed.wait(WAIT), "the server's handler never saw the client go away"
    # the final value counts the events the node yielded before it was cancelled
    assert f.events.get_data() == (3,)


def test_sse_source_rejects_a_plain_response(served):
    url, _ = served
    with pytest.raises(HttpProtocolError, match=r"GET .*/text: expected a text/event-stream response, got text/plain"):
        run_one(lambda: SSESource(url + "/text"))


def test_sse_source_error_status(served):
    url, _ = served
    with pytest.raises(HTTPException, match=r"^GET .*/fail: HTTP/1.1 503"):
        run_one(lambda: SSESource(url + "/fail"))


def test_sse_source_bad_mode():
    with pytest.raises(ValueError, match='mode must be "json" or "events"'):
        run_one(lambda: SSESource("http://127.0.0.1:1/x", "raw"))
