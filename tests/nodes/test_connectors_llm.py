"""flowno_nodes.connectors.llm: ChatCompletion end to end against a fake OpenAI-compatible endpoint
(an HttpServer on loopback, on its own thread; see nodehelpers.chat_server)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from flowno_core import FlowHDL, Stream, node
from flowno_core.instrumentation import LogInstrument
from flowno_core.io import HTTPException, HttpConnectionError, HttpServer, InvalidURL, ServerResponse
from flowno_core.io.http_logging import HttpLoggingInstrument
from flowno_nodes import ChatCompletion, ChatCompletionError, Secret
from flowno_nodes.connectors.llm import normalize_messages
from nodehelpers import WAIT, ServerThread, SocketTracker, chat_server
from openai_mock import Collect, TakeThenCancel, no_openai_environment  # noqa: F401 - a fixture (pytestmark)

KEY = "sk-test-0123456789abcdef"
ENV_KEY = "sk-env-fedcba9876543210"


pytestmark = pytest.mark.usefixtures("no_openai_environment")


@node(stream_in=["tokens"])
async def Shout(tokens: Stream[str]):  # type: ignore[no-untyped-def]
    async for token in tokens:
        yield token.upper()


@node
async def Length(text: str) -> int:
    return len(text)


def run(f) -> SocketTracker:  # type: ignore[no-untyped-def]
    with SocketTracker() as tracker:
        f.run_until_complete()
    assert tracker.still_open == []
    return tracker


def test_tokens_stream_through_a_streaming_consumer_and_the_final_value_is_the_text():
    server, log = chat_server(["Hello", ",", " streaming", " world", "!"])
    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.tokens = ChatCompletion("Say hello", base_url=url + "/v1")
            f.loud = Shout(f.tokens)
            f.seen = Collect(f.tokens)
            f.length = Length(f.tokens)  # a non-streaming consumer gets the final value
        run(f)
    assert f.seen.get_data() == (["Hello", ",", " streaming", " world", "!"],)
    assert f.loud.get_data() == ("HELLO, STREAMING WORLD!",)
    assert f.tokens.get_data() == ("Hello, streaming world!",)
    assert f.length.get_data() == (len("Hello, streaming world!"),)
    assert log.requests == [
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}], "stream": True}
    ]
    assert log.authorizations == [None]  # no key anywhere: no Authorization header
    assert log.streams_closed.is_set()


def test_messages_model_and_options_come_from_other_nodes_and_arguments():
    server, log = chat_server(["ok"])

    @node
    async def Conversation(topic: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"About {topic}?"}]

    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.messages = Conversation("rivers")
            f.answer = ChatCompletion(f.messages, "tiny-model", url + "/v1/", options={"temperature": 0, "stream": False})
        run(f)
    assert f.answer.get_data() == ("ok",)
    assert log.requests == [{
        "temperature": 0,
        "model": "tiny-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "About rivers?"}],
        "stream": True,
    }]


def test_consumer_cancelling_the_token_stream_closes_the_http_connection():
    server, log = chat_server(endless=True, pause=0.001)

    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.tokens = ChatCompletion("Talk forever", base_url=url + "/v1")
            f.first = TakeThenCancel(f.tokens, 3)
        tracker = run(f)
        assert log.streams_closed.wait(WAIT), "the server's handler never saw the connection close"
    assert len(tracker.opened) == 1
    (first,) = f.first.get_data()
    assert len(first) == 3
    assert f.tokens.get_data() == ("".join(first),)  # the text received before the cancel
    assert log.closed_count == 1


def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    server, log = chat_server(["fine"], require_key=ENV_KEY)
    with ServerThread(server) as url:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
        monkeypatch.setenv("OPENAI_MODEL", "env-model")
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi")
        run(f)
    assert f.answer.get_data() == ("fine",)
    assert log.authorizations == [f"Bearer {ENV_KEY}"]
    assert log.requests[0]["model"] == "env-model"


def test_flowno_llm_variables_override_the_openai_ones(monkeypatch: pytest.MonkeyPatch):
    server, log = chat_server(["over"], require_key=KEY)
    with ServerThread(server) as url:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
        monkeypatch.setenv("OPENAI_MODEL", "env-model")
        monkeypatch.setenv("FLOWNO_LLM_API_KEY", KEY)
        monkeypatch.setenv("FLOWNO_LLM_BASE_URL", url + "/v1")
        monkeypatch.setenv("FLOWNO_LLM_MODEL", "override-model")
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi")
        run(f)
    assert f.answer.get_data() == ("over",)
    assert log.authorizations == [f"Bearer {KEY}"]
    assert log.requests[0]["model"] == "override-model"


def test_api_key_argument_beats_the_environment_and_never_reaches_logs_or_reprs(monkeypatch, caplog):
    server, log = chat_server(["secret", " safe"], require_key=KEY)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    http_log = logging.getLogger("tests.nodes.http")
    caplog.set_level(logging.DEBUG)
    for name in ("flowno_core", "flowno_nodes", "tests.nodes.http"):
        caplog.set_level(logging.DEBUG, logger=name)
    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi", None, url + "/v1", KEY)  # positional, flowno style
            f.seen = Collect(f.answer)
        # every node value and every HTTP event is logged (LogInstrument prints the constants' values)
        with LogInstrument(), HttpLoggingInstrument(http_log):
            run(f)
    assert log.authorizations == [f"Bearer {KEY}"]
    assert f.answer.get_data() == ("secret safe",)
    assert any("NODE-OUTPUT" in record.getMessage() for record in caplog.records)
    assert any("REQUEST" in record.getMessage() for record in caplog.records)
    assert any("Secret('***')" in record.getMessage() for record in caplog.records)
    for secret in (KEY, ENV_KEY):
        assert secret not in caplog.text
        assert all(secret not in repr(n) for n in f._flow.nodes)


@pytest.mark.parametrize("source", ["secret argument", "str argument", "environment"])
def test_wrong_key_gives_a_clear_error_without_the_key(source, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("flowno_core", "flowno_nodes", "tests.nodes.http"):
        caplog.set_level(logging.DEBUG, logger=name)
    wrong = "sk-wrong-key-0000000000"
    server, log = chat_server(require_key=KEY)  # its 401 body quotes the key it received
    with ServerThread(server) as url:
        with FlowHDL() as f:
            if source == "environment":
                monkeypatch.setenv("OPENAI_API_KEY", wrong)
                f.answer = ChatCompletion("hi", base_url=url + "/v1")
            else:
                f.answer = ChatCompletion("hi", base_url=url + "/v1", api_key=Secret(wrong) if "secret" in source else wrong)
            f.seen = Collect(f.answer)
        with LogInstrument(), HttpLoggingInstrument(logging.getLogger("tests.nodes.http")):
            with pytest.raises(HTTPException) as caught:
                run(f)
    error = caught.value
    text = str(error) + "\n".join(getattr(error, "__notes__", [])) + repr(error) + repr(error.args)
    assert str(error).startswith(f"POST {url}/v1/chat/completions: HTTP/1.1 401")
    assert error.status_code == 401
    assert "Incorrect API key provided: ***" in text
    assert wrong not in text and wrong not in caplog.text
    assert any("REQUEST" in record.getMessage() for record in caplog.records)
    assert log.authorizations == [f"Bearer {wrong}"]


def test_missing_key_is_mentioned_on_401():
    server, _ = chat_server(require_key=KEY)
    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi", base_url=url + "/v1")
        with pytest.raises(HTTPException) as caught:
            run(f)
    assert any("no API key was sent" in note and "OPENAI_API_KEY" in note for note in caught.value.__notes__)


def test_error_status_names_method_url_and_status():
    server, _ = chat_server(status=500)
    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi", base_url=url + "/v1", api_key=KEY)
        with pytest.raises(HTTPException) as caught:
            run(f)
    assert str(caught.value).startswith(f"POST {url}/v1/chat/completions: HTTP/1.1 500")
    assert KEY not in str(caught.value)


def test_error_event_in_the_stream():
    server, log = chat_server(error_event="model overloaded")
    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi", base_url=url + "/v1", api_key=KEY)
            f.seen = Collect(f.answer)
        with pytest.raises(ChatCompletionError, match=r"^POST .*/v1/chat/completions: the endpoint reported an error: model overloaded"):
            run(f)
        assert log.streams_closed.wait(WAIT)


def test_endpoint_that_does_not_stream():
    server = HttpServer("127.0.0.1", 0)

    @server.route("/v1/chat/completions", methods=["POST"])
    async def whole(request):  # type: ignore[no-untyped-def]
        return ServerResponse.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": "all at once"}}]})

    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.answer = ChatCompletion("hi", base_url=url + "/v1")
            f.seen = Collect(f.answer)
        run(f)
    assert f.seen.get_data() == (["all at once"],)
    assert f.answer.get_data() == ("all at once",)


@pytest.fixture
def refused_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


def test_refused_connection_and_bad_url_are_clear_errors(refused_url):
    with FlowHDL() as f:
        f.answer = ChatCompletion("hi", base_url=refused_url, api_key=KEY)
    with pytest.raises(HttpConnectionError) as caught:
        run(f)
    assert str(caught.value).startswith(f"POST {refused_url}/chat/completions: ")
    assert KEY not in str(caught.value)

    with FlowHDL() as f:
        f.answer = ChatCompletion("hi", base_url="localhost:8080/v1", api_key=KEY)
    with pytest.raises(InvalidURL, match=r"^POST localhost:8080/v1/chat/completions: "):
        run(f)


def test_bad_messages():
    with FlowHDL() as f:
        f.answer = ChatCompletion(42, base_url="http://127.0.0.1:1/v1")
    with pytest.raises(TypeError, match="ChatCompletion: messages must be a str"):
        f.run_until_complete()


def test_normalize_messages():
    assert normalize_messages("hi") == [{"role": "user", "content": "hi"}]
    assert normalize_messages({"role": "system", "content": "x"}) == [{"role": "system", "content": "x"}]
    assert normalize_messages(({"role": "user", "content": "a"},)) == [{"role": "user", "content": "a"}]
    for bad in ([], ["hi"], None, 3):
        with pytest.raises(TypeError):
            normalize_messages(bad)


def test_secret_hides_itself():
    key = Secret(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}" and KEY not in f"{key!r:>40}"
    assert key.reveal() == KEY and Secret(key).reveal() == KEY
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_flow_stopped_by_another_node_closes_the_connection():
    server, log = chat_server(endless=True, pause=0.001)

    @node(stream_in=["tokens"])
    async def Explode(tokens: Stream[str]) -> None:
        count = 0
        async for _ in tokens:
            count += 1
            if count == 5:
                raise ValueError("consumer failed")

    with ServerThread(server) as url:
        with FlowHDL() as f:
            f.tokens = ChatCompletion("hi", base_url=url + "/v1")
            f.boom = Explode(f.tokens)
            f.seen = Collect(f.tokens)
        with pytest.raises(ValueError, match="consumer failed"):
            run(f)  # also asserts that no client socket is left open
        assert log.streams_closed.wait(WAIT), "the server's handler never saw the connection close"
