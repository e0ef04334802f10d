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

from flowno_core import Event, EventLoop, sleep, spawn
from flowno_core.io import HTTPException, HttpServer, sse_response

WAIT = 20.0  # safety-net timeout for cross-thread waits (never reached when things work)


class ServerThread:
    """Run ``server`` on a separate EventLoop thread for the duration of a ``with`` block.

    Example::

        with ServerThread(server) as url:
            ...   # run flows that talk to url
    """

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.loop = EventLoop()
        self._stop = Event()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-http-server", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> str:
        self.server.bind()
        self._thread.start()
        if not self._started.wait(WAIT):
            raise RuntimeError("the test server did not start")
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self._stop.set_nowait)
        self._thread.join(WAIT)
        if self._thread.is_alive():
            raise RuntimeError("the test server did not stop")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        async def main() -> None:
            serving = await spawn(self.server.serve())
            self._started.set()
            await self._stop.wait()
            await self.server.stop(grace=0.2)
            await serving.join()

        try:
            self.loop.run_until_complete(main(), join=True)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread
            self._error = error


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
