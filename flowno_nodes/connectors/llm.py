"""LLM connector node: ``ChatCompletion``, an OpenAI-compatible streaming chat completion.

Theory of operation: one evaluation POSTs ``{"model", "messages", "stream": true, ...options}`` to
``<base_url>/chat/completions`` with ``flowno_core.io.HttpClient.stream_post`` and reads the
server-sent events (``data: {...}`` lines ending with ``data: [DONE]``). The node is an async
generator: every non-empty ``choices[0].delta.content`` is yielded as a run-level-1 chunk (a token),
and the whole text is the final value (run level 0), so a streaming consumer
(``@node(stream_in=[...])``) sees tokens as they arrive while an ordinary consumer gets the text.
The response body is closed in a ``finally`` block: the HTTP connection is closed when the answer
ends, on any error, as soon as a consumer cancels the token stream (``StreamCancelled`` arrives at
the ``yield``; the final value is then the text received so far), and when the flow stops. An
endpoint that ignores ``"stream": true`` and answers with one JSON completion is accepted too (its
text arrives as a single token).

Configuration comes from the arguments, else from the environment when the node runs:
``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``), ``OPENAI_API_KEY`` (no
``Authorization`` header when there is none, for local servers) and ``OPENAI_MODEL`` (default
``gpt-4o-mini``).

The API key is a secret: a key given as an argument is wrapped in ``Secret`` when the node is
created (so the flow graph, its instruments and its logs only ever see ``Secret('***')``), a key
from the environment is read at run time and kept in a local variable, and it is revealed only to
build the ``Authorization`` header, whose value flowno_core.io never logs or puts in errors. Error
messages that quote the server's answer have the key replaced by ``***``.
"""

from __future__ import annotations

import json as _json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from flowno_core import node
from flowno_core.io import (
    HTTPException,
    Headers,
    HttpClient,
    Timeout,
    streaming_response_is_ok,
)

from .._wiring import with_keywords
from ._common import DEFAULT_TIMEOUT, Secret, media_type, reveal

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

BASE_URL_ENV = "OPENAI_BASE_URL"
API_KEY_ENV = "OPENAI_API_KEY"
MODEL_ENV = "OPENAI_MODEL"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


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
        super().__init__(f"{method} {url}: {detail}")


def _protect_key(arguments: dict[str, Any]) -> None:
    """``with_keywords`` hook: a plain-string key becomes a ``Secret`` before it enters the graph."""
    key = arguments.get("api_key")
    if isinstance(key, str):
        arguments["api_key"] = Secret(key)


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    """The ``messages`` list of a request from a str (one user message), one dict, or a list of dicts.

    Example:
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


def _token(event: Any, method: str, url: str, key: str | None) -> str | None:
    """The text of one streamed event (None when it carries none, e.g. the role-only first delta)."""
    if not isinstance(event, dict):
        raise ChatCompletionError(method, url, f"unexpected stream event {_scrub(repr(event), key)[:200]}")
    if event.get("error"):
        error = event["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ChatCompletionError(method, url, f"the endpoint reported an error: {_scrub(str(message), key)[:500]}")
    for choice in event.get("choices") or ():
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            return content if isinstance(content, str) and content else None
    return None


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
    value is the whole text. Cancelling the token stream from a consumer closes the HTTP connection
    (the final value is then the text received so far).

    Args:
        messages: a str (one user message), one message dict, or a list of
            ``{"role": "system" | "user" | "assistant", "content": ...}`` dicts.
        model: the model name; default ``$OPENAI_MODEL``, else ``"gpt-4o-mini"``.
        base_url: the API root, e.g. ``"http://127.0.0.1:11434/v1"``; the node POSTs to
            ``<base_url>/chat/completions``. Default ``$OPENAI_BASE_URL``, else
            ``"https://api.openai.com/v1"``.
        api_key: the key sent as ``Authorization: Bearer <key>`` (a str is wrapped in ``Secret``
            when the node is created). Default ``$OPENAI_API_KEY``; no header when neither is set.
        options: more request fields (``{"temperature": 0.2, "max_tokens": 200}``); they cannot
            override ``model``, ``messages`` or ``stream``.
        timeout: a ``flowno_core.io.Timeout``, a number of seconds or None; ``read`` bounds the wait
            for the first and for each following token. Default: 30 s connect, 300 s read.

    Raises:
        HTTPException: a non-2xx status; the message names method, URL and status (and says when
            no API key was sent). The key is never part of any message.
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
        text = f.answer.get_data()[0]
    """
    chat = normalize_messages(messages)
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"ChatCompletion: options must be a dict of request fields, got {type(options).__name__}")
    key = reveal(api_key) if api_key is not None else os.environ.get(API_KEY_ENV) or None
    root = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(root, str):
        raise TypeError(f"ChatCompletion: base_url must be a str, got {type(root).__name__}")
    url = root.rstrip("/") + "/chat/completions"
    payload = dict(options or {})
    payload.update(model=model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL, messages=chat, stream=True)
    headers = Headers({"Accept": "text/event-stream"})
    if key:
        headers.set("Authorization", f"Bearer {key}")
    response = await HttpClient().stream_post(url, json=payload, extra_headers=headers, timeout=timeout)
    parts: list[str] = []
    try:
        if not streaming_response_is_ok(response):
            body = _scrub_bytes(await response.read(), key)
            error = HTTPException(response.status, body, method=response.method, url=response.url)
            if not key and error.status_code in (401, 403):
                error.add_note(f"no API key was sent: pass api_key=... or set {API_KEY_ENV}")
            raise error
        method, where = response.method, response.url
        if media_type(response.headers) != "text/event-stream":
            raw = b"".join([bytes(chunk) async for chunk in response.body])
            try:
                completion = _json.loads(raw)
            except ValueError:
                raise ChatCompletionError(
                    method, where, f"expected an event stream or a JSON completion, got {_scrub(raw[:200].decode('utf-8', 'replace'), key)!r}"
                ) from None
            text = _token(completion, method, where, key) or ""
            if text:
                parts.append(text)
                yield text
        else:
            async for event in response.body:
                token = _token(event, method, where, key)
                if token is not None:
                    parts.append(token)
                    yield token
    finally:
        await response.aclose()
    logger.debug("ChatCompletion: %d tokens from %s", len(parts), response.url)
    raise StopAsyncIteration("".join(parts))
