"""Helpers for the connector tests: an HttpServer on its own thread, a fake OpenAI endpoint, socket
accounting.

Flows own their event loop and run it until their nodes are done, so a server cannot share that
loop; it runs on a second EventLoop in a thread instead (both on the wall clock: real sockets). The
handlers report what they saw through ``threading`` objects that the test thread can wait for.
Waits use generous timeouts as a safety net only; no test asserts a duration.
"""

from __future__ import annotations

from flowno_core.testing.sockets import SocketTracker  # noqa: F401 - re-exported for the node tests

import threading
from dataclasses import dataclass, field
from typing import Any

from flowno_core import sleep
from flowno_core.io import HTTPException, HttpServer, ServerThread, sse_response  # noqa: F401 - ServerThread re-exported

WAIT = 20.0  # safety-net timeout for cross-thread waits (never reached when things work)


@dataclass
class ChatLog:
    """What the fake chat endpoint saw."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    streams_started: int = 0
    streams_closed: threading.Event = field(default_factory=threading.Event)
    closed_count: int = 0
    tokens_sent: int = 0


def chat_server(
    answer: list[str] | None = None,
    *,
    endless: bool = False,
    status: int = 200,
    require_key: str | None = None,
    error_event: str | None = None,
    pause: float = 0.0,
) -> tuple[HttpServer, ChatLog]:
    """A fake OpenAI-compatible ``/v1/chat/completions`` endpoint on loopback.

    ``answer`` tokens are streamed as ``choices[0].delta.content`` events (after a role-only first
    delta, as OpenAI does) and the stream ends with ``data: [DONE]``; ``endless`` keeps streaming
    numbered tokens until the client goes away. ``require_key`` answers 401 unless the request has
    ``Authorization: Bearer <key>``; the 401 body quotes the key it received, to check that the
    node scrubs it. ``log.streams_closed`` is set in the handler's ``finally``.
    """
    server = HttpServer("127.0.0.1", 0)
    log = ChatLog()
    tokens = answer if answer is not None else ["Hello", ",", " streaming", " world", "!"]

    @server.route("/v1/chat/completions", methods=["POST"])
    async def completions(request):  # type: ignore[no-untyped-def]
        body = request.json()
        log.requests.append(body)
        authorization = request.headers.get("authorization")
        log.authorizations.append(authorization)
        if status != 200:
            raise HTTPException(status, "the fake endpoint says no")
        if require_key is not None and authorization != f"Bearer {require_key}":
            received = (authorization or "").removeprefix("Bearer ")
            raise HTTPException(401, f"Incorrect API key provided: {received}")

        async def events():  # type: ignore[no-untyped-def]
            log.streams_started += 1
            try:
                yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
                if error_event is not None:
                    yield {"error": {"message": error_event}}
                index = 0
                while endless or index < len(tokens):
                    token = tokens[index] if index < len(tokens) else f" t{index}"
                    yield {"choices": [{"index": 0, "delta": {"content": token}}]}
                    log.tokens_sent += 1
                    index += 1
                    await sleep(pause)
                yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            finally:
                log.closed_count += 1
                log.streams_closed.set()

        return sse_response(events(), done=True)

    return server, log
