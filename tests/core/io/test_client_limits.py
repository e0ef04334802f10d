"""Client limits (issue 12): response head size, body size of whole-body reads (after
decompression: a gzip bomb stops too) and the total deadline of whole-body requests; streams are
bounded by neither of the last two. Each over real sockets; each refusal closes the socket."""

from __future__ import annotations

import gzip

import pytest

from flowno_core.io import HttpClient, HttpProtocolError, HttpTimeoutError, ResponseTooLarge, Timeout
from iohelpers import Script, ScriptedServer, SocketTracker, chunked, open_fds

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and server threads: wall-clock time

OK_HEAD = b"HTTP/1.1 200 OK\r\n"


async def _refused(script: Script, client: HttpClient, streaming: bool = False) -> ResponseTooLarge:
    before = open_fds()
    with ScriptedServer([script]) as srv:
        with SocketTracker() as tracker:
            with pytest.raises(ResponseTooLarge) as info:
                if streaming:
                    response = await client.stream_get(srv.url + "/big")
                    async for _ in response.body:
                        pass
                else:
                    await client.get(srv.url + "/big")
        assert tracker.still_open == []
    assert open_fds() <= before
    assert str(info.value).startswith(f"GET {srv.url}/big: ")
    return info.value


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "stream"])
async def test_a_head_larger_than_max_header_size_is_refused(streaming):
    script = Script([OK_HEAD + b"X-Big: " + b"a" * 5000 + b"\r\nContent-Length: 0\r\n\r\n"], then="hold")
    error = await _refused(script, HttpClient(max_header_size=1024), streaming)
    assert "the response head is larger than max_header_size (1024 bytes)" in str(error)
    assert error.limit == 1024 and isinstance(error, HttpProtocolError)


async def test_the_default_head_limit_is_64_kib():
    fields = b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 1000) for i in range(80))
    error = await _refused(Script([OK_HEAD + fields + b"Content-Length: 0\r\n\r\n"]), HttpClient())
    assert error.limit == 65536
    small = b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 1000) for i in range(40))
    with ScriptedServer([Script([OK_HEAD + small + b"Content-Length: 2\r\n\r\nok"])]) as srv:
        assert (await HttpClient().get(srv.url + "/")).body == b"ok"


async def test_an_announced_body_over_max_body_size_is_refused_before_reading_it():
    script = Script([OK_HEAD + b"Content-Length: 5000\r\n\r\n"], then="hold")  # the body never comes
    error = await _refused(script, HttpClient(max_body_size=1000))
    assert "larger than max_body_size (1000 bytes; it announces 5000 bytes)" in str(error)
    assert "stream" in str(error)


async def test_a_chunked_body_over_max_body_size_is_refused():
    script = Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(*[b"x" * 600] * 4)])
    error = await _refused(script, HttpClient(max_body_size=1000))
    assert "larger than max_body_size (1000 bytes; more arrived)" in str(error)


async def test_a_gzip_bomb_is_stopped_by_its_decompressed_size():
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    script = Script([OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb])
    error = await _refused(script, HttpClient(max_body_size=1_000_000))
    assert error.limit == 1_000_000


async def test_streams_are_not_limited_by_max_body_size_and_small_bodies_pass():
    body = b"y" * 5000
    script = Script([OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body[:2500], body[2500:])])
    with ScriptedServer([script]) as srv:
        client = HttpClient(max_body_size=1000)
        response = await client.stream_get(srv.url + "/")
        assert b"".join([chunk async for chunk in response.body]) == body
        assert (await HttpClient(max_body_size=5000).get(srv.url + "/")).body == body
        assert (await HttpClient(max_body_size=None).get(srv.url + "/")).body == body


async def test_max_request_time_bounds_a_whole_body_read_from_a_dripping_server():
    head = OK_HEAD + b"Content-Length: 1000\r\n\r\n"
    with ScriptedServer([Script([head], then="drip", drip=b"x" * 1000, pause=0.02)]) as srv:
        with SocketTracker() as tracker:
            with pytest.raises(HttpTimeoutError) as info:
                await HttpClient(timeout=Timeout(connect=5, read=5), max_request_time=0.3).get(srv.url + "/drip")
        assert tracker.still_open == []
        assert await srv.client_closed()
    error = info.value
    assert error.phase == "total" and error.seconds == 0.3
    assert any("max_request_time" in note for note in error.__notes__)


async def test_a_tighter_total_timeout_wins_and_streams_ignore_max_request_time():
    head = OK_HEAD + b"Content-Length: 1000\r\n\r\n"
    with ScriptedServer([Script([head], then="drip", drip=b"x" * 1000, pause=0.02)] * 2) as srv:
        with pytest.raises(HttpTimeoutError) as info:
            await HttpClient(max_request_time=60).get(srv.url + "/", timeout=Timeout(total=0.2))
        assert info.value.seconds == 0.2 and not getattr(info.value, "__notes__", [])
        # a stream outlives max_request_time: its consumer reads as it goes
        response = await HttpClient(max_request_time=0.1).stream_get(srv.url + "/")
        received = 0
        async for chunk in response.body:
            received += len(chunk)
            if received >= 30:  # 30 drips of 0.02 s: longer than 0.1 s whatever the machine
                break
        await response.aclose()


@pytest.mark.parametrize("option", ["max_header_size", "max_body_size", "max_request_time"])
@pytest.mark.parametrize("value", [0, -1, "10"])
def test_limits_must_be_positive_numbers(option, value):
    with pytest.raises(ValueError, match=option):
        HttpClient(**{option: value})
