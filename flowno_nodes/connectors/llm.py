"""LLM connector node: ``ChatCompletion``, an OpenAI-compatible streaming chat completion.

Theory of operation: one evaluation POSTs ``{"model", "messages", "stream": true, ...options}`` to
``<base_url>/chat/completions`` with ``flowno_core.io.HttpClient.stream_post`` and reads the
server-sent events (``data: {...}`` events ending with ``data: [DONE]``) as ``ServerSentEvent``
objects, decoding each one's JSON itself so that a malformed event is a ``ChatCompletionError``
naming it. A pure ``ChatStream`` (``_chat.py``) folds the events into the answer: content tokens,
tool calls assembled from their deltas, ``finish_reason``, ``usage``. The node is an async
generator: every non-empty ``choices[0].delta.content`` is yielded as a run-level-1 chunk (a token)
and the final value (run level 0) is a ``ChatAnswer``: a ``str`` holding the whole text, carrying
``finish_reason``, ``tool_calls``, ``usage`` and ``model`` as attributes. So a streaming consumer
(``@node(stream_in=[...])``) sees tokens as they arrive while an ordinary consumer gets the text,
and a caller that passed ``tools`` finds the calls on the final value.

A stream is complete once it carried a ``finish_reason`` or ``[DONE]``. One that ends before either
(a clean end of the body, or a connection dropped mid-body) raises ``ChatStreamTruncated``, which
says how many tokens arrived and keeps them (``partial``), instead of returning a shorter answer as
if it were whole; a read timeout mid-stream stays an ``HttpTimeoutError``, with a note saying the
same. An error status raises ``HTTPException`` carrying ``headers``, ``body``, ``text`` and
``retry_after`` (seconds), with a note quoting the endpoint's error message.

The response body is closed in a ``finally`` block: the HTTP connection is closed when the answer
ends, on any error, as soon as a consumer cancels the token stream (``StreamCancelled`` arrives at
the ``yield``; the final value is then the answer received so far), and when the flow stops. An
endpoint that ignores ``"stream": true`` and answers with one JSON completion is accepted too (its
text arrives as a single token).

Configuration comes from the arguments, else from the environment when the node runs: the
standard variables of OpenAI's clients, ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``),
``OPENAI_API_KEY`` (no ``Authorization`` header when there is none, for local servers) and
``OPENAI_MODEL`` (default ``gpt-4o-mini``). ``FLOWNO_LLM_BASE_URL``, ``FLOWNO_LLM_API_KEY`` and
``FLOWNO_LLM_MODEL`` override them when set, to point flows at another endpoint than the other
OpenAI tools of the same shell.

The API key is a secret: a key given as an argument is wrapped in ``Secret`` when the node is
created (so the flow graph, its instruments and its logs only ever see ``Secret('***')``), a key
from the environment is read at run time and kept in a local variable, and it is revealed only to
build the ``Authorization`` header, whose value flowno_core.io never logs or puts in errors. Error
messages and error bodies that quote the server's answer have the key replaced by ``***``.
"""

from __future__ import annotations

import json as _json
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from flowno_core import StreamCancelled, node
from flowno_core.io import (
    ErrStreamingResponse,
    HTTPException,
    Headers,
    HttpClient,
    HttpConnectionError,
    HttpError,
    HttpProtocolError,
    HttpTimeoutError,
    ServerSentEvent,
    Timeout,
    streaming_response_is_ok,
)

from .._wiring import with_keywords
from ._chat import (
    EVENT_EXCERPT,
    ChatAnswer,
    ChatEventError,
    ChatStream,
    FunctionCall,
    ToolCall,
    answer_from_completion,
)
from ._common import DEFAULT_TIMEOUT, Secret, media_type, reveal

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

BASE_URL_ENV = "OPENAI_BASE_URL"
API_KEY_ENV = "OPENAI_API_KEY"
MODEL_ENV = "OPENAI_MODEL"
#: ``FLOWNO_LLM_BASE_URL`` overrides ``OPENAI_BASE_URL``, and so on
OVERRIDE_PREFIX = "FLOWNO_LLM_"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
_DONE = "[DONE]"


def _environment(standard: str) -> str | None:
    """``FLOWNO_LLM_<X>`` when set, else ``OPENAI_<X>`` (read when the node runs), else None."""
    override = OVERRIDE_PREFIX + standard.removeprefix("OPENAI_")
    return os.environ.get(override) or os.environ.get(standard) or None


class ChatCompletionError(RuntimeError):
    """The chat-completion endpoint answered something the node cannot use: an ``error`` event in
    the stream, or a malformed event or completion. The message names the method and the URL.

    Attributes:
        method: the request method (``"POST"``).
        url: the request URL.
    """

    def __init__(self, method: str, url: str, detail: str) -> None:
        self.method = method
        self.url = url
        self.detail = detail
        super().__init__(f"{method} {url}: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.detail))


class ChatStreamTruncated(ChatCompletionError):
    """The answer stream ended before its ``finish_reason`` or ``[DONE]``: the answer is incomplete.

    Raised when the body ends early (a proxy or the server gave up) and when the connection drops
    mid-stream (that transport error is the ``__cause__``, its detail part of the message). The
    tokens that arrived were already streamed to consumers; they are kept in ``partial``.

    Attributes:
        tokens: how many content tokens arrived.
        partial: a ``ChatAnswer`` with the text and tool calls received (``finish_reason`` None).
        failure: what the transport reported when the connection dropped, else None.
    """

    def __init__(self, method: str, url: str, partial: ChatAnswer, tokens: int, failure: str | None = None) -> None:
        self.tokens = tokens
        self.partial = partial
        self.failure = failure
        what = f"the connection failed ({failure})" if failure is not None else "the body ended there"
        calls = f" and {len(partial.tool_calls)} unfinished tool call(s)" if partial.tool_calls else ""
        super().__init__(method, url, (
            f"the answer stream was truncated after {tokens} token(s){calls}, before any finish_reason "
            f"or [DONE]: {what}; the answer is incomplete (error.partial holds what arrived)"
        ))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.partial, self.tokens, self.failure))


def _protect_key(arguments: dict[str, Any]) -> None:
    """``with_keywords`` hook: a plain-string key becomes a ``Secret`` before it enters the graph."""
    key = arguments.get("api_key")
    if isinstance(key, str):
        arguments["api_key"] = Secret(key)


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    """The ``messages`` list of a request from a str (one user message), one dict, or a list of dicts.

    Examples:
        >>> normalize_messages("Hi")
        [{'role': 'user', 'content': 'Hi'}]
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping):
        return [dict(messages)]
    if isinstance(messages, Sequence) and messages and all(isinstance(m, Mapping) for m in messages):
        return [dict(m) for m in messages]
    raise TypeError(
        "ChatCompletion: messages must be a str (one user message) or a non-empty list of "
        f"{{'role': ..., 'content': ...}} dicts, got {type(messages).__name__}"
    )


def _scrub(text: str, key: str | None) -> str:
    return text.replace(key, "***") if key else text


def _scrub_bytes(body: bytes, key: str | None) -> bytes:
    return body.replace(key.encode(), b"***") if key else body


async def _status_error(response: ErrStreamingResponse, key: str | None) -> HTTPException:
    """The client's ``HTTPException`` for an error status (``status_code``, ``headers``, ``body``,
    ``text``, ``retry_after``) with the key scrubbed from the body and a note quoting the
    endpoint's message and any Retry-After."""
    response.body = _scrub_bytes(await response.read(), key)
    try:
        await response.raise_for_status()
    except HTTPException as raised:
        error = raised
    else:  # pragma: no cover - raise_for_status always raises
        raise AssertionError("ErrStreamingResponse.raise_for_status() did not raise")
    said = _error_message(error.body)
    note = f"the endpoint says: {said[:500]}" if said else "the endpoint sent no explanation"
    if error.retry_after is not None:
        note += f"; Retry-After: {error.retry_after:g} s (error.retry_after; the header: error.headers['retry-after'])"
    error.add_note(note)
    if not key and error.status_code in (401, 403):
        error.add_note(f"no API key was sent: pass api_key=... or set {API_KEY_ENV}")
    return error


def _error_message(body: bytes) -> str:
    """The message of an error body: OpenAI's ``{"error": {"message": ...}}``, else the body as text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        value = _json.loads(text)
    except ValueError:
        return text
    error = value.get("error") if isinstance(value, Mapping) else None
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    return text


def _event_json(event: ServerSentEvent, method: str, url: str, key: str | None) -> Any:
    try:
        return _json.loads(event.data)
    except ValueError as error:
        excerpt = _scrub(event.data, key)[:EVENT_EXCERPT]
        raise ChatCompletionError(method, url, f"a stream event is not JSON ({error}): {excerpt!r}") from None


async def _next_event(
    events: AsyncIterator[ServerSentEvent], stream: ChatStream, method: str, url: str
) -> ServerSentEvent | None:
    """The next SSE event (None at the end of the body); a transport failure before the answer is
    complete becomes ``ChatStreamTruncated`` (a timeout stays a timeout, with a note)."""
    try:
        return await events.__anext__()
    except StopAsyncIteration:
        return None
    except (HttpProtocolError, HttpConnectionError) as error:
        if stream.complete:  # finish_reason arrived: the answer is whole, only [DONE] or usage is lost
            logger.debug("ChatCompletion: %s %s failed after the answer was complete: %s", method, url, error)
            return None
        failure = error.detail if isinstance(error, HttpError) else str(error)
        raise ChatStreamTruncated(method, url, stream.answer(), stream.tokens, failure) from error
    except HttpTimeoutError as error:
        if not stream.complete:
            error.add_note(
                f"ChatCompletion: the answer stream stopped after {stream.tokens} token(s), before any "
                "finish_reason or [DONE]: the answer is incomplete"
            )
        raise


@with_keywords(prepare=_protect_key)
@node
async def ChatCompletion(
    messages: Any,
    model: str | None = None,
    base_url: str | None = None,
    api_key: Secret | str | None = None,
    options: Mapping[str, Any] | None = None,
    timeout: Timeout | float | None = DEFAULT_TIMEOUT,
) -> Any:
    """Ask an OpenAI-compatible chat-completion endpoint; stream the answer's tokens.

    A streaming node: each token (``choices[0].delta.content``) is a run-level-1 chunk and the final
    value is a ``ChatAnswer``: the whole text (a ``str``) with ``finish_reason``, ``tool_calls``,
    ``usage`` and ``model`` attributes. With ``tools`` in ``options`` the model may answer with tool
    calls: they are assembled from their deltas into ``answer.tool_calls`` (``ToolCall`` objects:
    ``id``, ``name``, ``arguments`` JSON text, ``parse_arguments()``) and ``answer.finish_reason``
    is ``"tool_calls"``; ``answer.message`` is the assistant message to send back with the tools'
    results. Cancelling the token stream from a consumer closes the HTTP connection (the final value
    is then the answer received so far).

    Args:
        messages: a str (one user message), one message dict, or a list of
            ``{"role": "system" | "user" | "assistant" | "tool", "content": ...}`` dicts.
        model: the model name; default ``$FLOWNO_LLM_MODEL``, else ``$OPENAI_MODEL``, else
            ``"gpt-4o-mini"``.
        base_url: the API root, e.g. ``"http://127.0.0.1:11434/v1"``; the node POSTs to
            ``<base_url>/chat/completions``. Default ``$FLOWNO_LLM_BASE_URL``, else
            ``$OPENAI_BASE_URL``, else ``"https://api.openai.com/v1"``.
        api_key: the key sent as ``Authorization: Bearer <key>`` (a str is wrapped in ``Secret``
            when the node is created). Default ``$FLOWNO_LLM_API_KEY``, else ``$OPENAI_API_KEY``; no
            header when none is set.
        options: more request fields (``{"temperature": 0.2, "max_tokens": 200, "tools": [...],
            "stream_options": {"include_usage": True}}``); they cannot override ``model``,
            ``messages`` or ``stream``.
        timeout: a ``flowno_core.io.Timeout``, a number of seconds or None; ``read`` bounds the wait
            for the first and for each following token. Default: 30 s connect, 300 s read.

    Raises:
        HTTPException: a non-2xx status; the message names method, URL and status, ``headers`` and
            ``body``/``text`` are attributes, ``retry_after`` is ``Retry-After`` in seconds (or
            None), and a note quotes the endpoint's message (and says when no API key was sent).
            The key is never part of any message.
        ChatStreamTruncated: the stream ended or broke before ``finish_reason``/``[DONE]``.
        ChatCompletionError: an error event or a malformed answer.
        InvalidURL, HttpConnectionError, HttpTimeoutError, HttpProtocolError: see flowno_core.io.

    Example::

        @node(stream_in=["tokens"])
        async def Show(tokens: Stream[str]):
            async for token in tokens:
                print(token, end="", flush=True)

        with FlowHDL() as f:
            f.answer = ChatCompletion("Write a haiku about rivers", model="gpt-4o-mini")
            f.show = Show(f.answer)
        f.run_until_complete()
        answer = f.answer.get_data()[0]      # the text; answer.finish_reason == "stop"
    """
    chat = normalize_messages(messages)
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"ChatCompletion: options must be a dict of request fields, got {type(options).__name__}")
    key = reveal(api_key) if api_key is not None else _environment(API_KEY_ENV)
    root = base_url or _environment(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(root, str):
        raise TypeError(f"ChatCompletion: base_url must be a str, got {type(root).__name__}")
    url = root.rstrip("/") + "/chat/completions"
    payload = dict(options or {})
    payload.update(model=model or _environment(MODEL_ENV) or DEFAULT_MODEL, messages=chat, stream=True)
    headers = Headers({"Accept": "text/event-stream"})
    if key:
        headers.set("Authorization", f"Bearer {key}")
    response = await HttpClient().stream_post(url, json=payload, extra_headers=headers, timeout=timeout, sse="events")
    stream = ChatStream()
    try:
        if not streaming_response_is_ok(response):
            raise await _status_error(response, key)
        method, where = response.method, response.url
        try:
            if media_type(response.headers) != "text/event-stream":
                raw = b"".join([bytes(chunk) async for chunk in response.body])
                try:
                    completion = _json.loads(raw)
                except ValueError:
                    excerpt = _scrub(raw[:EVENT_EXCERPT].decode("utf-8", "replace"), key)
                    raise ChatCompletionError(
                        method, where, f"expected an event stream or a JSON completion, got {excerpt!r}"
                    ) from None
                answer = answer_from_completion(completion)
                if answer:
                    try:
                        yield answer.content
                    except StreamCancelled:
                        pass  # the whole answer is already here
            else:
                cancelled = False
                while (event := await _next_event(response.body, stream, method, where)) is not None:
                    if event.data.strip() == _DONE:
                        stream.mark_done()
                        break
                    token = stream.feed(_event_json(event, method, where, key))
                    if token is not None:
                        try:
                            yield token
                        except StreamCancelled:  # a consumer has seen enough: stop reading
                            cancelled = True
                            break
                if not (stream.complete or cancelled):
                    raise ChatStreamTruncated(method, where, stream.answer(), stream.tokens)
                answer = stream.answer()
        except ChatEventError as error:
            raise ChatCompletionError(method, where, _scrub(str(error), key)) from None
    finally:
        await response.aclose()
    logger.debug("ChatCompletion: %d characters from %s, finish_reason %s", len(answer), where, answer.finish_reason)
    raise StopAsyncIteration(answer)


__all__ = [
    "ChatAnswer",
    "ChatCompletion",
    "ChatCompletionError",
    "ChatStreamTruncated",
    "FunctionCall",
    "ToolCall",
    "normalize_messages",
]
