"""The pure half of the LLM node (flowno_nodes/connectors/_chat.py): ChatStream folds chunk events
into a ChatAnswer; no sockets here. Property: however a server splits and orders the tool-call
deltas, the assembled calls are the calls it meant."""

from __future__ import annotations

import doctest
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_nodes.connectors import _chat, llm
from flowno_nodes.connectors._chat import ChatAnswer, ChatEventError, ChatStream, ToolCall, answer_from_completion


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def call_deltas(index: int, call: tuple[str, str, str], cuts: list[int], repeat_head: bool) -> list[dict[str, Any]]:
    """The deltas of one call: the head (id, type, name), then the arguments cut at ``cuts``."""
    call_id, name, arguments = call
    head = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    bounds = sorted({0, len(arguments), *[c % (len(arguments) + 1) for c in cuts]})
    pieces = [arguments[a:b] for a, b in zip(bounds, bounds[1:])]
    rest = []
    for piece in pieces:
        item: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
        if repeat_head:  # some servers send id and name again with every fragment
            item.update(id=call_id, type="function")
            item["function"]["name"] = name
        rest.append(item)
    return [head, *rest]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
calls_strategy = st.lists(
    st.tuples(
        st.text("abcdef0123456789", min_size=1, max_size=6).map(lambda s: "call_" + s),
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.dictionaries(st.text(max_size=6), json_values, max_size=4).map(json.dumps),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda call: call[0],
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    calls=calls_strategy,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    repeat_head=st.booleans(),
    order=st.randoms(use_true_random=False),
    per_event=st.integers(min_value=1, max_value=3),
)
def test_tool_calls_survive_any_fragmentation_and_interleaving(calls, cuts, repeat_head, order, per_event):
    queues = [call_deltas(index, call, cuts, repeat_head) for index, call in enumerate(calls)]
    merged: list[dict[str, Any]] = []
    while any(queues):  # interleave calls at random, each call's own deltas in order
        queue = order.choice([q for q in queues if q])
        merged.append(queue.pop(0))
    stream = ChatStream()
    for at in range(0, len(merged), per_event):  # several deltas may share one event
        assert stream.feed(delta(tool_calls=merged[at : at + per_event])) is None
    stream.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    answer = stream.answer()
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [tuple(call) for call in calls]
    assert [c.parse_arguments() for c in answer.tool_calls] == [json.loads(call[2]) for call in calls]
    assert stream.complete and answer.finish_reason == "tool_calls" and answer == ""


def test_content_usage_model_refusal_and_other_choices():
    stream = ChatStream()
    assert not stream.complete
    assert stream.feed({"model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}) is None
    assert stream.feed(delta(content="Hi")) == "Hi"
    assert stream.feed({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}) is None
    assert stream.feed(delta(refusal="I can't")) is None
    assert stream.feed({"choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "length"}]}) == "!"
    assert stream.complete
    assert stream.feed({"choices": [], "usage": {"total_tokens": 9}}) is None
    answer = stream.answer()
    assert (answer, answer.finish_reason, answer.usage, answer.model, answer.refusal) == ("Hi!", "length", {"total_tokens": 9}, "m", "I can't")
    assert stream.tokens == 2


def test_done_completes_without_finish_reason():
    stream = ChatStream()
    stream.feed(delta(content="x"))
    stream.mark_done()
    assert stream.complete and stream.answer().finish_reason is None


@pytest.mark.parametrize(
    "event, message",
    [
        ({"error": {"message": "overloaded"}}, "the endpoint reported an error: overloaded"),
        ({"error": "plain"}, "the endpoint reported an error: plain"),
        ("text", "unexpected stream event 'text'"),
        ({"choices": [{"index": 0, "delta": "x"}]}, "'delta' is not an object"),
        (delta(tool_calls=["x"]), "a tool-call delta is not an object"),
        (delta(tool_calls=[{"index": 0, "function": "f"}]), "a tool call's 'function' is not an object"),
        (delta(function_call={"name": "f"}), "legacy 'function_call'"),
    ],
)
def test_bad_events(event: Any, message: str):
    with pytest.raises(ChatEventError, match=message.replace("(", r"\(")):
        ChatStream().feed(event)


def test_answer_from_a_whole_completion():
    answer = answer_from_completion({"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "ok"}}]})
    assert answer == "ok" and answer.finish_reason == "stop"
    for bad in ([], {"choices": []}, {"object": "x"}):
        with pytest.raises(ChatEventError):
            answer_from_completion(bad)


def test_chat_answer_behaves_as_its_text_and_pickles_with_its_details():
    call = ToolCall("call_1", "f", '{"a": 1}')
    answer = ChatAnswer("", finish_reason="tool_calls", tool_calls=[call], usage={"total_tokens": 3}, model="m")
    assert answer == "" and not answer and answer.tool_calls == (call,)
    assert repr(answer) == (
        "ChatAnswer('', finish_reason='tool_calls', "
        "tool_calls=[ToolCall(id='call_1', name='f', arguments='{\"a\": 1}', type='function')])"
    )
    assert answer.message == {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]}
    again = pickle.loads(pickle.dumps(answer))
    assert type(again) is ChatAnswer and again.tool_calls == (call,) and again.usage == {"total_tokens": 3}
    text = ChatAnswer("Hello", finish_reason="stop")
    assert text + " you" == "Hello you" and f"{text}" == "Hello" and str(text) == "Hello" and hash(text) == hash("Hello")
    assert text.message == {"role": "assistant", "content": "Hello"}
    assert ChatAnswer().message == {"role": "assistant", "content": ""}


def test_tool_call_arguments_that_are_not_json_name_the_call():
    with pytest.raises(ValueError, match=r"tool call call_9 \(f\): the arguments are not valid JSON .*'\{\"a\": '"):
        ToolCall("call_9", "f", '{"a": ').parse_arguments()
    assert ToolCall("call_9", "f", "  ").parse_arguments() == {}


@pytest.mark.parametrize("module", [_chat, llm], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
