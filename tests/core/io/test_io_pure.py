"""Pure parts of flowno_core.io: Headers, URL parsing, content decoding, SSE parsing.

The SSE and decoding tests check the property that matters for streaming: the result does not
depend on where the byte stream is cut.
"""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowno_core.io as fio
from flowno_core.io import Headers, InvalidURL, ServerSentEvent, SSEParser
from flowno_core.io._decoding import BodyDecoder, DecodeError
from flowno_core.io._url import parse_url, redact
from flowno_core.io.sse import SSEJsonDecoder, format_event


# -- exports ------------------------------------------------------------------------------------
def test_io_exports_flowno_names_and_all_is_exact():
    for name in ["HttpClient", "Headers", "HttpServer", "Response", "OkStreamingResponse",
                 "ErrStreamingResponse", "streaming_response_is_ok", "HTTPException"]:
        assert name in fio.__all__
    assert sorted(fio.__all__) == sorted(set(fio.__all__))
    for name in fio.__all__:
        assert getattr(fio, name) is not None
    assert issubclass(fio.HttpTimeoutError, TimeoutError)
    assert issubclass(fio.HttpConnectionError, ConnectionError)
    assert issubclass(fio.InvalidURL, ValueError)


# -- Headers ------------------------------------------------------------------------------------
def test_headers_are_case_insensitive_and_flowno_compatible():
    headers = Headers()
    headers.set("Content-Type", "application/json")
    headers.set("Accept", ["text/html", "application/json"])
    assert headers.get("CONTENT-TYPE") == "application/json"
    assert headers.get("accept") == "text/html, application/json"
    assert headers.get("missing", "dflt") == "dflt"
    headers.delete("content-type")
    assert headers.get("Content-Type") is None
    headers.delete("not-there")  # no error


def test_repeated_fields_stay_separate_lines_and_get_joins_them():
    headers = Headers()
    headers.add("Set-Cookie", "a=1; Path=/")
    headers.add("set-cookie", "b=2, with comma")
    assert headers.get("Set-Cookie") == "a=1; Path=/, b=2, with comma"
    assert headers.get_all("SET-COOKIE") == ["a=1; Path=/", "b=2, with comma"]
    assert headers.stringify() == "set-cookie: a=1; Path=/\r\nset-cookie: b=2, with comma"
    assert list(headers) == [("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2, with comma")]


def test_merge_lets_the_other_side_win_per_name():
    base = Headers({"User-Agent": "a", "X-Keep": "k"})
    base.add("Via", "1")
    base.merge(Headers([("user-agent", "b"), ("Via", "2"), ("Via", "3")]))
    assert base.get("user-agent") == "b"
    assert base.get("x-keep") == "k"
    assert base.get_all("via") == ["2", "3"]


@pytest.mark.parametrize("name", ["X-Bad\r\nInjected", "X Bad", "", "X:Bad", "X-Bad\n"])
def test_bad_header_names_raise_value_error(name):
    with pytest.raises(ValueError):
        Headers().set(name, "v")


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b"])
def test_cr_lf_nul_in_values_raise_value_error(value):
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Headers().set("X-A", value)
    with pytest.raises(ValueError):
        Headers().add("X-A", value)
    with pytest.raises(ValueError):
        Headers().set("X-A", ["ok", value])


def test_headers_misc():
    headers = Headers({"A": "1"})
    assert "a" in headers and "b" not in headers and 3 not in headers
    assert headers["A"] == "1"
    with pytest.raises(KeyError):
        headers["b"]
    assert len(headers) == 1
    clone = headers.copy()
    clone.set("a", "2")
    assert headers.get("a") == "1" and clone != headers
    with pytest.raises(TypeError):
        headers.set("a", 3)  # type: ignore[arg-type]


# -- URLs ---------------------------------------------------------------------------------------
def test_parse_url_keeps_query_and_computes_host_header():
    target = parse_url("http://example.org:8080/a b/c?q=1&r=x y#frag")
    assert target.target == "/a%20b/c?q=1&r=x%20y"
    assert target.host_header == "example.org:8080"
    assert target.origin == ("http", "example.org", 8080)
    assert parse_url("https://h").target == "/"
    assert parse_url("https://h").host_header == "h"
    assert parse_url("http://[::1]:81/x").host_header == "[::1]:81"
    assert parse_url("http://[::1]:81/x").is_ip_literal


@pytest.mark.parametrize("url", ["ftp://h/x", "h/x", "http:///x", "http://h:99999/", "http://h:abc/", "", "http://a b/"])
def test_bad_urls_raise_invalid_url_naming_method_and_url(url):
    with pytest.raises(InvalidURL) as info:
        parse_url(url, "POST")
    assert str(info.value).startswith("POST ")


def test_redact_hides_passwords_and_secret_query_values():
    assert redact("https://u:pw@h/x?api_key=s&token=t&q=1") == "https://u:***@h/x?api_key=***&token=***&q=1"
    assert redact("http://h/x?q=1") == "http://h/x?q=1"


# -- content decoding ---------------------------------------------------------------------------
def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=2000), cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=12),
       kind=st.sampled_from(["gzip", "deflate", "raw-deflate", "gzip-2-members", "identity"]))
def test_decoding_is_independent_of_piece_boundaries(payload, cuts, kind):
    header = {"gzip": "gzip", "deflate": "deflate", "raw-deflate": "deflate",
              "gzip-2-members": "gzip", "identity": "identity"}[kind]
    if kind == "gzip":
        blob = gzip.compress(payload)
    elif kind == "gzip-2-members":
        blob = gzip.compress(payload[:7]) + gzip.compress(payload[7:])
    elif kind == "deflate":
        blob = zlib.compress(payload)
    elif kind == "raw-deflate":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        blob = packer.compress(payload) + packer.flush()
    else:
        blob = payload
    decoder = BodyDecoder(header)
    out = b"".join(decoder.feed(piece) for piece in _pieces(blob, cuts)) + decoder.finish()
    assert out == payload


def test_decoding_errors_and_unknown_encodings():
    with pytest.raises(DecodeError):
        decoder = BodyDecoder("gzip")
        decoder.feed(b"definitely not gzip data")
    decoder = BodyDecoder("gzip")
    decoder.feed(gzip.compress(b"hello")[:-6])
    with pytest.raises(DecodeError, match="truncated"):
        decoder.finish()
    assert not BodyDecoder("br").active  # not ours: passed through untouched
    nested = BodyDecoder("deflate, gzip")
    assert nested.feed(gzip.compress(zlib.compress(b"x" * 50))) + nested.finish() == b"x" * 50


# -- SSE ----------------------------------------------------------------------------------------
SSE_STREAM = (
    b"\xef\xbb\xbf: a comment\r\n"
    b"event: greet\r\nid: 7\r\ndata: caf\xc3\xa9 \xe2\x82\xac\r\ndata:second line\r\n\r\n"
    b"data: {\"choices\": [{\"delta\": {\"content\": \"Hel\"}}]}\n\n"
    b"retry: 1500\rdata: cr only\r\r"
    b"data\n\n"
    b"id\n\n"
    b"event: nodata\n\n"
    b"data:  two spaces\n\n"
    b"data: unterminated at end"
)


def _parse_all(pieces: list[bytes]) -> list[ServerSentEvent]:
    parser = SSEParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    parser.close()
    return events


def test_sse_parser_follows_the_standard():
    events = _parse_all([SSE_STREAM])
    assert events == [
        ServerSentEvent("café €\nsecond line", "greet", "7", None),
        ServerSentEvent('{"choices": [{"delta": {"content": "Hel"}}]}', "message", "7", None),
        ServerSentEvent("cr only", "message", "7", 1500),
        ServerSentEvent("", "message", "7", None),
        ServerSentEvent(" two spaces", "message", "", None),
    ]


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(SSE_STREAM)), max_size=25))
def test_sse_parser_is_independent_of_read_boundaries(cuts):
    assert _parse_all(_pieces(SSE_STREAM, cuts)) == _parse_all([SSE_STREAM])


def test_sse_parser_one_byte_at_a_time():
    assert _parse_all([bytes([b]) for b in SSE_STREAM]) == _parse_all([SSE_STREAM])


def test_sse_json_decoder_done_split_values_and_errors():
    decoder = SSEJsonDecoder()
    assert decoder.decode(ServerSentEvent('{"a": 1} {"b": 2}\n[3]')) == [{"a": 1}, {"b": 2}, [3]]
    assert decoder.decode(ServerSentEvent('{"text": "unfinished')) == []
    assert decoder.decode(ServerSentEvent(' value"}')) == [{"text": "unfinished value"}]
    assert decoder.decode(ServerSentEvent('{"flag": tr')) == []
    assert decoder.decode(ServerSentEvent('ue}')) == [{"flag": True}]
    assert decoder.decode(ServerSentEvent("[DONE]")) == [] and decoder.done
    assert decoder.decode(ServerSentEvent('{"after": "done"}')) == []
    with pytest.raises(ValueError, match="not JSON"):
        SSEJsonDecoder().decode(ServerSentEvent("hello there"))
    pending = SSEJsonDecoder()
    pending.decode(ServerSentEvent('{"a": '))
    with pytest.raises(ValueError, match="ended inside a JSON value"):
        pending.finish()


def test_format_event_round_trips_through_the_parser():
    wire = (format_event({"k": "v"}) + format_event("two\nlines", event="note", id="9", retry=10)
            + format_event(b"raw") + format_event(ServerSentEvent("x", "custom")))
    events = _parse_all([wire])
    assert [json.loads(events[0].data), events[1].data, events[1].event, events[1].retry] == [{"k": "v"}, "two\nlines",
                                                                                           "note", 10]
    assert events[2].data == "raw" and events[3].event == "custom"
    with pytest.raises(ValueError):
        format_event("x", event="bad\nname")


# -- docstring examples ---------------------------------------------------------------------------
@pytest.mark.parametrize("module_name", ["headers", "sse", "_decoding", "errors", "_url", "connection", "responses", "routing"])
def test_docstring_examples_run(module_name):
    import doctest
    import importlib

    module = importlib.import_module(f"flowno_core.io.{module_name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
