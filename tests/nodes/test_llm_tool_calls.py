"""Tool calls: ChatCompletion assembles streamed tool-call deltas into ``answer.tool_calls``, against
the OpenAI-compatible mock (tests/nodes/openai_mock.py, raw sockets on loopback)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowno_core import FlowHDL, node
from flowno_nodes.connectors.llm import ChatAnswer, ChatCompletion, ToolCall
from nodehelpers import SocketTracker
from openai_mock import (  # noqa: F401 - no_openai_environment is a fixture (pytestmark)
    OpenAIMock,
    RecordedRequest,
    Reply,
    ask,
    chunk,
    no_openai_environment,
    text_chunks,
    tool_call_chunks,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
OSLO = ("call_oslo", "get_weather", '{"city": "Oslo", "unit": "celsius"}')
LIMA = ("call_lima", "get_weather", '{"city": "Lima"}')
CLOCK = ("call_clock", "get_time", "{}")


pytestmark = pytest.mark.usefixtures("no_openai_environment")


def tool_answer(items: list[Any], tools: list[dict[str, Any]] | None = None) -> tuple[ChatAnswer, Any, OpenAIMock]:
    with OpenAIMock(Reply(items)) as mock:
        f = ask(mock, "What is the weather?", options={"tools": tools or [WEATHER_TOOL], "tool_choice": "auto"})
    return f.answer.get_data()[0], f, mock


def test_a_single_tool_call_is_assembled():
    answer, f, mock = tool_answer(tool_call_chunks([OSLO], piece=4))
    assert answer.finish_reason == "tool_calls"
    assert answer.tool_calls == (ToolCall("call_oslo", "get_weather", '{"city": "Oslo", "unit": "celsius"}'),)
    (call,) = answer.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == OSLO[2] and call.type == "function"
    assert call.parse_arguments() == {"city": "Oslo", "unit": "celsius"}
    assert answer == "" and f.seen.get_data() == ([],)  # no text tokens: nothing streamed
    assert "tool_calls=[ToolCall(id='call_oslo'" in repr(answer)  # never shown as a bare ''
    assert mock.requests[0].json["tools"] == [WEATHER_TOOL] and mock.requests[0].json["tool_choice"] == "auto"


@pytest.mark.parametrize("interleave", [False, True], ids=["one after another", "interleaved"])
def test_parallel_tool_calls_keep_their_order(interleave: bool):
    answer, _, _ = tool_answer(tool_call_chunks([OSLO, LIMA, CLOCK], piece=3, interleave=interleave), [WEATHER_TOOL, TIME_TOOL])
    assert [(call.id, call.name, call.arguments) for call in answer.tool_calls] == [OSLO, LIMA, CLOCK]
    assert [call.parse_arguments() for call in answer.tool_calls] == [
        {"city": "Oslo", "unit": "celsius"}, {"city": "Lima"}, {}
    ]


def test_arguments_split_into_one_character_deltas():
    arguments = json.dumps({"city": "Reykjavík", "days": [1, 2, 3], "note": "a \"quoted\" word, \\ and ünïcode"})
    items = tool_call_chunks([("call_1", "get_weather", arguments)], piece=1)
    assert len(items) > len(arguments)
    answer, _, _ = tool_answer(items)
    (call,) = answer.tool_calls
    assert call.arguments == arguments and call.parse_arguments()["city"] == "Reykjavík"


def test_text_before_the_tool_call_streams_and_both_are_kept():
    items = tool_call_chunks([OSLO], content=["Let", " me", " check."])
    answer, f, _ = tool_answer(items)
    assert f.seen.get_data() == (["Let", " me", " check."],)
    assert answer == "Let me check." and len(answer.tool_calls) == 1
    assert answer.message == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [{"id": "call_oslo", "type": "function", "function": {"name": "get_weather", "arguments": OSLO[2]}}],
    }


def test_servers_that_repeat_id_and_name_or_send_whole_calls():
    repeated = [
        chunk({"tool_calls": [{"index": 0, "id": "call_r", "type": "function", "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "call_r", "type": "function", "function": {"name": "get_weather", "arguments": 'ty": "Rome"}'}}]}),
        # no index at all, a whole call, arguments as an object (seen from some local servers)
        chunk({"tool_calls": [{"id": "call_w", "function": {"name": "get_time", "arguments": {}}}]}, "tool_calls"),
    ]
    answer, _, _ = tool_answer(repeated)
    assert [(call.id, call.name, call.parse_arguments()) for call in answer.tool_calls] == [
        ("call_r", "get_weather", {"city": "Rome"}),
        ("call_w", "get_time", {}),
    ]


def test_a_non_streamed_completion_with_tool_calls():
    completion = {
        "object": "chat.completion",
        "choices": [{
            "index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ]},
        }],
    }
    with OpenAIMock(Reply.completion(completion)) as mock:
        f = ask(mock, options={"tools": [WEATHER_TOOL, TIME_TOOL]})
    (answer,) = f.answer.get_data()
    assert f.seen.get_data() == ([],) and answer == ""
    assert [(c.id, c.name) for c in answer.tool_calls] == [("call_a", "get_weather"), ("call_b", "get_time")]
    assert answer.finish_reason == "tool_calls"


def test_a_legacy_function_call_is_refused_clearly():
    items = [chunk({"role": "assistant", "function_call": {"name": "get_weather", "arguments": ""}})]
    with OpenAIMock(Reply(items)) as mock:
        with pytest.raises(Exception, match="legacy 'function_call'.*pass options=\\{'tools'"):
            ask(mock, options={"functions": [WEATHER_TOOL["function"]]})


def test_a_tool_loop_in_one_flow():
    """The model asks for a tool; a node runs it; a second ChatCompletion gets the result."""

    def endpoint(request: RecordedRequest) -> Reply:
        messages = request.json["messages"]
        if messages[-1]["role"] != "tool":
            return Reply(tool_call_chunks([OSLO, LIMA], piece=5))
        results = {m["tool_call_id"]: json.loads(m["content"]) for m in messages if m["role"] == "tool"}
        text = " and ".join(f"{r['city']}: {r['sky']}" for r in results.values())
        return Reply(text_chunks(text.split(" ")[:1] + [" " + word for word in text.split(" ")[1:]]))

    @node
    async def RunTools(question: str, answer: ChatAnswer) -> list[dict[str, Any]]:
        def get_weather(city: str, unit: str = "celsius") -> dict[str, str]:
            return {"city": city, "sky": "sunny" if city == "Lima" else "rainy"}

        messages: list[dict[str, Any]] = [{"role": "user", "content": question}, answer.message]
        for call in answer.tool_calls:
            result = {"get_weather": get_weather}[call.name](**call.parse_arguments())
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
        return messages

    question = "Weather in Oslo and Lima?"
    with OpenAIMock(endpoint) as mock:
        with FlowHDL() as f:
            f.first = ChatCompletion(question, base_url=mock.url, options={"tools": [WEATHER_TOOL]})
            f.followup = RunTools(question, f.first)
            f.final = ChatCompletion(f.followup, base_url=mock.url, options={"tools": [WEATHER_TOOL]})
        with SocketTracker() as tracker:
            f.run_until_complete()
        assert tracker.still_open == []
    assert f.final.get_data() == ("Oslo: rainy and Lima: sunny",)
    second = mock.requests[1].json["messages"]
    assert second[1]["tool_calls"][0]["id"] == "call_oslo" and second[1]["content"] is None
    assert [m.get("tool_call_id") for m in second[2:]] == ["call_oslo", "call_lima"]
