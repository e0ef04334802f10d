"""ChatCompletion against the OpenAI-compatible mock (tests/nodes/openai_mock.py, raw sockets on
loopback) with faults injected: truncated streams, error statuses with Retry-After, malformed
events, stalls, usage chunks, cancellation. Tool calls: test_llm_tool_calls.py."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from flowno_core import FlowHDL
from flowno_core.io import HTTPException, HttpConnectionError, HttpProtocolError, HttpTimeoutError, Timeout
from flowno_nodes.connectors.llm import ChatAnswer, ChatCompletion, ChatCompletionError, ChatStreamTruncated
from nodehelpers import SocketTracker
from openai_mock import (
    MODEL,
    WAIT,
    OpenAIMock,
    Raw,
    Reply,
    Stall,
    TakeThenCancel,
    ask,
    ask_error,
    chunk,
    no_openai_environment,  # noqa: F401 - a fixture (pytestmark)
    notes,
    openai_error,
    text_chunks,
    tool_call_chunks,
    usage_chunk,
)

KEY = "sk-mock-key-0123456789"

pytestmark = pytest.mark.usefixtures("no_openai_environment")


def test_an_answer_is_a_str_with_its_finish_reason_and_model():
    with OpenAIMock(Reply(text_chunks(["Hel", "lo", "!"]))) as mock:
        f = ask(mock, model="m-1")
    (answer,) = f.answer.get_data()
    assert f.seen.get_data() == (["Hel", "lo", "!"],)
    assert isinstance(answer, ChatAnswer) and isinstance(answer, str)
    assert answer == "Hello!" and answer.content == "Hello!" and type(answer.content) is str
    assert (answer.finish_reason, answer.model, answer.tool_calls, answer.usage) == ("stop", MODEL, (), None)
    assert mock.requests[0].json == {"model": "m-1", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert mock.requests[0].headers["accept"] == "text/event-stream"


# -- 5. truncation ------------------------------------------------------------------------------------
CUTS = {
    "clean end of a chunked body": Reply(text_chunks(["a", "b"], finish_reason=None), ending="end"),
    "connection dropped inside a chunk": Reply(text_chunks(["a", "b"], finish_reason=None), ending="drop"),
    "close-delimited body cut": Reply(text_chunks(["a", "b"], finish_reason=None), ending="drop", framing="close"),
}


@pytest.mark.parametrize("reply", CUTS.values(), ids=CUTS.keys())
def test_a_stream_cut_before_finish_reason_and_done_is_a_truncation_error(reply: Reply):
    with OpenAIMock(reply) as mock:
        error = ask_error(mock, ChatStreamTruncated)
        assert mock.finished.wait(WAIT)
    assert str(error).startswith(
        f"POST {mock.url}/chat/completions: the answer stream was truncated after 2 token(s), "
        "before any finish_reason or [DONE]: "
    )
    assert "the answer is incomplete" in str(error)
    assert "(ChatCompletion) while computing generation" in notes(error)
    assert isinstance(error, ChatCompletionError)
    assert error.tokens == 2
    assert error.partial == "ab" and error.partial.finish_reason is None
    if reply.ending == "drop" and reply.framing == "chunked":
        assert isinstance(error.__cause__, HttpProtocolError | HttpConnectionError)
        assert error.failure == error.__cause__.detail and f"the connection failed ({error.failure})" in str(error)
    else:
        assert error.__cause__ is None and error.failure is None and "the body ended there" in str(error)
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.tokens, again.partial) == (ChatStreamTruncated, str(error), 2, "ab")


def test_a_truncated_tool_call_says_so():
    calls = [("call_1", "get_weather", '{"city": "Oslo", "unit": "celsius"}')]
    items = tool_call_chunks(calls, piece=5, finish_reason=None)[:-3]  # the last fragments never come
    with OpenAIMock(Reply(items, ending="drop")) as mock:
        error = ask_error(mock, ChatStreamTruncated, options={"tools": [{"type": "function"}]})
    assert "truncated after 0 token(s) and 1 unfinished tool call(s)" in str(error)
    (partial,) = error.partial.tool_calls
    assert partial.id == "call_1" and calls[0][2].startswith(partial.arguments) and partial.arguments != calls[0][2]


DONE_WITHOUT_FINISH = Reply(text_chunks(["a", "b"], finish_reason=None))
FINISH_WITHOUT_DONE = Reply(text_chunks(["a", "b"]), ending="end")
FINISH_THEN_DROP = Reply(text_chunks(["a", "b"]), ending="drop")


@pytest.mark.parametrize(
    "reply, finish_reason",
    [(DONE_WITHOUT_FINISH, None), (FINISH_WITHOUT_DONE, "stop"), (FINISH_THEN_DROP, "stop")],
    ids=["[DONE] without finish_reason", "finish_reason without [DONE]", "finish_reason, then the connection drops"],
)
def test_either_end_marker_makes_the_answer_complete(reply: Reply, finish_reason: str | None):
    with OpenAIMock(reply) as mock:
        f = ask(mock)
    assert f.answer.get_data() == ("ab",)
    assert f.answer.get_data()[0].finish_reason == finish_reason
    assert f.seen.get_data() == (["a", "b"],)


def test_a_stall_mid_stream_is_a_read_timeout_that_says_how_far_the_answer_got():
    with OpenAIMock(Reply(text_chunks(["a", "b"], finish_reason=None) + [Stall()])) as mock:
        error = ask_error(mock, HttpTimeoutError, timeout=Timeout(connect=WAIT, read=0.2))
        assert mock.client_gone.wait(WAIT), "the mock never saw the client hang up"
    assert error.phase == "read"
    assert "the answer stream stopped after 2 token(s), before any finish_reason or [DONE]" in notes(error)


# -- 6. error statuses -------------------------------------------------------------------------------
RATE_LIMITED = openai_error("Rate limit reached for gpt-4o-mini: please try again in 2s.")


@pytest.mark.parametrize(
    "status, retry_header, seconds",
    [(429, "2", 2.0), (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
    ids=["429 with delay-seconds", "503 with an HTTP date in the past"],
)
def test_an_error_status_carries_status_headers_body_and_retry_after(status: int, retry_header: str, seconds: float):
    headers = {"Retry-After": retry_header, "x-ratelimit-remaining-requests": "0"}
    with OpenAIMock(Reply.error(status, RATE_LIMITED, headers)) as mock:
        error = ask_error(mock, HTTPException, api_key=KEY)
    assert str(error).startswith(f"POST {mock.url}/chat/completions: HTTP/1.1 {status} ")
    assert error.status_code == status
    assert error.headers.get("retry-after") == retry_header
    assert error.headers.get("x-ratelimit-remaining-requests") == "0"
    assert error.retry_after == seconds
    assert json.loads(error.body) == RATE_LIMITED
    assert json.loads(error.text) == RATE_LIMITED
    assert f"the endpoint says: {RATE_LIMITED['error']['message']}; Retry-After: {seconds:g} s" in notes(error)
    assert "(ChatCompletion) while computing generation" in notes(error)
    assert KEY not in str(error) + notes(error)


def test_an_error_status_without_retry_after():
    with OpenAIMock(Reply.error(500, "upstream exploded")) as mock:
        error = ask_error(mock, HTTPException)
    assert error.status_code == 500 and error.retry_after is None and error.body == b"upstream exploded"
    assert "the endpoint says: upstream exploded" in notes(error) and "Retry-After" not in notes(error)


def test_an_error_body_that_quotes_the_key_is_scrubbed():
    body = openai_error(f"Incorrect API key provided: {KEY}", "invalid_request_error", "invalid_api_key")
    with OpenAIMock(Reply.error(401, body)) as mock:
        error = ask_error(mock, HTTPException, api_key=KEY)
    assert mock.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(error) + notes(error) + error.text + repr(error.body)
    assert "Incorrect API key provided: ***" in notes(error)


# -- malformed and odd streams -----------------------------------------------------------------------
def test_lines_that_are_not_events_are_ignored():
    odd = [
        Raw(b": keep-alive comment\n\n"),
        Raw(b"this line has no field name\n\n"),
        Raw(b"event: ping\n\n"),  # no data: no event
        Raw(b"id: 7\nretry: 100\n\n"),
        chunk({"content": "b"}),
        Raw(b"data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"c\"}}]}\r\n\r\n"),  # CRLF lines
    ]
    items = text_chunks(["a"], finish_reason=None) + odd + [chunk({}, "stop")]
    with OpenAIMock(Reply(items)) as mock:
        f = ask(mock)
    assert f.seen.get_data() == (["a", "b", "c"],)
    assert f.answer.get_data() == ("abc",)


@pytest.mark.parametrize(
    "bad, message",
    [
        (Raw(b"data: {not json\n\n"), "a stream event is not JSON"),
        (Raw(b"data: [1, 2]\n\n"), "unexpected stream event [1, 2]"),
        (Raw(b'data: {"choices": {"index": 0}}\n\n'), "'choices' is not a list"),
        (chunk({"tool_calls": {"index": 0}}), "'tool_calls' is not a list"),
    ],
    ids=["not JSON", "not an object", "choices not a list", "tool_calls not a list"],
)
def test_a_malformed_event_is_an_error_naming_it(bad: Any, message: str):
    with OpenAIMock(Reply(text_chunks(["a"], finish_reason=None) + [bad] + text_chunks(["b"], role=False))) as mock:
        error = ask_error(mock, ChatCompletionError)
        assert mock.finished.wait(WAIT)
    assert str(error).startswith(f"POST {mock.url}/chat/completions: {message}")
    assert not isinstance(error, ChatStreamTruncated)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_an_error_event_mid_stream():
    items = text_chunks(["a"], finish_reason=None) + [{"error": {"message": "model overloaded", "type": "server_error"}}]
    with OpenAIMock(Reply(items)) as mock:
        error = ask_error(mock, ChatCompletionError)
    assert str(error) == f"POST {mock.url}/chat/completions: the endpoint reported an error: model overloaded"


def test_slow_tokens_arrive_one_by_one():
    tokens = [f" w{i}" for i in range(8)]
    with OpenAIMock(Reply(text_chunks(tokens), pause=0.01)) as mock:
        f = ask(mock)
    assert f.seen.get_data() == (tokens,)
    assert f.answer.get_data()[0].finish_reason == "stop"


def test_a_usage_chunk_is_kept_on_the_answer():
    items = text_chunks(["four", " words", " in", " all"]) + [usage_chunk(12, 4)]
    with OpenAIMock(Reply(items)) as mock:
        f = ask(mock, options={"stream_options": {"include_usage": True}})
    (answer,) = f.answer.get_data()
    assert answer == "four words in all" and answer.finish_reason == "stop"
    assert answer.usage == {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
    assert mock.requests[0].json["stream_options"] == {"include_usage": True}
    assert f.seen.get_data() == (["four", " words", " in", " all"],)  # the usage chunk is no token


def test_finish_reason_length_is_visible():
    with OpenAIMock(Reply(text_chunks(["The", " answer", " is"], finish_reason="length"))) as mock:
        f = ask(mock, options={"max_tokens": 3})
    (answer,) = f.answer.get_data()
    assert answer == "The answer is" and answer.finish_reason == "length"
    assert mock.requests[0].json["max_tokens"] == 3


def test_a_non_streamed_completion_keeps_finish_reason_and_usage():
    completion = {
        "id": "chatcmpl-1", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "cut sh"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    with OpenAIMock(Reply.completion(completion)) as mock:
        f = ask(mock)
    (answer,) = f.answer.get_data()
    assert f.seen.get_data() == (["cut sh"],)
    assert (answer, answer.finish_reason, answer.usage["total_tokens"], answer.model) == ("cut sh", "length", 5, MODEL)


def test_a_json_completion_without_choices_is_an_error():
    with OpenAIMock(Reply.completion({"object": "chat.completion", "choices": []})) as mock:
        error = ask_error(mock, ChatCompletionError)
    assert "the completion has no choices" in str(error)


# -- cancellation ------------------------------------------------------------------------------------
def test_cancelling_mid_stream_closes_the_connection_and_keeps_the_answer_so_far():
    with OpenAIMock(Reply.endless_tokens(pause=0.002)) as mock:
        with FlowHDL() as f:
            f.answer = ChatCompletion("talk forever", base_url=mock.url)
            f.first = TakeThenCancel(f.answer, 4)
        with SocketTracker() as tracker:
            f.run_until_complete()
        assert tracker.still_open == [] and len(tracker.opened) == 1
        assert mock.client_gone.wait(WAIT), "the mock never saw the client hang up"
    (first,) = f.first.get_data()
    (answer,) = f.answer.get_data()
    assert len(first) == 4 and answer == "".join(first)
    assert isinstance(answer, ChatAnswer) and answer.finish_reason is None
