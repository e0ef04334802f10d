"""An OpenAI-compatible chat-completions mock server with fault injection, on raw sockets.

Theory of operation: the mock server is deliberately *not* built on flowno_core.io: it is a small HTTP/1.1
server written on the standard library's sockets and threads, so the LLM node's tests talk to a
peer that shares no code with our client, and faults can be injected at the byte level (a body cut
off inside a chunk, a clean end without ``[DONE]``, malformed SSE lines) where a well-behaved server
library would not let them happen. One thread accepts; each connection gets a thread that reads one
request, records it and plays the next ``Reply`` of the script; the connection is then closed
(``Connection: close``). Everything the handlers observe is published through ``threading`` objects,
so a test thread can wait for it (with ``WAIT`` as a safety net, never as a measured duration).

A ``Reply`` is a list of *items* sent in order as server-sent events: a dict goes out as
``data: <json>``, ``Raw`` bytes verbatim (malformed lines, comments), ``Stall()`` waits until the
client hangs up (or ``mock.release`` is set). Builders make OpenAI-shaped items:

* ``text_chunks(["Hel", "lo"], finish_reason="stop")``: a role delta, content deltas, the finish;
* ``tool_call_chunks([("call_1", "get_weather", '{"city": "Oslo"}')], piece=3)``: tool-call deltas
  with the arguments split every ``piece`` characters (``interleave=True`` alternates calls);
* ``usage_chunk(12, 5)``: the ``choices: []`` chunk sent with ``stream_options.include_usage``.

Faults: ``ending="drop"`` closes the socket in the middle of the body (no terminating chunk),
``ending="end"`` ends the body cleanly (terminating chunk) right after the items, without ``[DONE]``
(``done=False`` leaves out only ``[DONE]``); ``framing="close"`` delimits the body by closing the connection (no chunked
encoding); ``pause`` sleeps between items (slow tokens); ``endless=True`` streams numbered tokens
until the client goes away; ``Reply.error(429, {...}, {"Retry-After": "2"})`` answers an error
status with a JSON body; ``Reply.completion({...})`` answers one non-streamed JSON completion.

At the end, flow helpers for the node tests: ``ask(mock, ...)`` runs ChatCompletion and a streaming
consumer against the mock and checks that no client socket stays open.

Example::

    with OpenAIMock(Reply(text_chunks(["Hi", "!"]))) as mock:
        f = ask(mock, "hello")                  # ChatCompletion(..., base_url=mock.url)
    assert f.answer.get_data() == ("Hi!",) and mock.requests[0].json["stream"] is True
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from fakehttp import read_head

from flowno_core import FlowHDL, Stream, node
from flowno_core.testing.sockets import SocketTracker
from flowno_nodes.connectors.llm import ChatCompletion

WAIT = 20.0  # safety net for cross-thread waits (never reached when things work)
POLL = 0.02  # how often idle loops look at the stop flag and the client socket
MODEL = "mock-gpt"
COMPLETION_ID = "chatcmpl-mock"


# -- items -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Raw:
    """Bytes written to the body verbatim (a malformed line, a comment, half an event)."""

    data: bytes


@dataclass(frozen=True)
class Stall:
    """Stop sending until the client hangs up, ``mock.release`` is set or the mock stops."""


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` event for choice 0, shaped like OpenAI's."""
    event: dict[str, Any] = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}],
    }
    event.update(extra)
    return event


def text_chunks(tokens: Sequence[str], finish_reason: str | None = "stop", role: bool = True) -> list[Any]:
    """A role delta (OpenAI sends one first), a content delta per token and a finish chunk
    (none when ``finish_reason`` is None)."""
    items: list[Any] = [chunk({"role": "assistant", "content": ""})] if role else []
    items += [chunk({"content": token}) for token in tokens]
    if finish_reason is not None:
        items.append(chunk({}, finish_reason))
    return items


def tool_call_chunks(
    calls: Sequence[tuple[str, str, str]],
    piece: int = 4,
    interleave: bool = False,
    finish_reason: str | None = "tool_calls",
    content: Sequence[str] = (),
) -> list[Any]:
    """Tool-call deltas as OpenAI streams them: per call ``(id, name, arguments)``, a first delta
    with index, id, type and name (empty arguments), then the arguments in ``piece``-character
    fragments. Calls follow one another (OpenAI's order) or alternate fragment by fragment
    (``interleave``). ``content`` tokens come first (some models talk before calling)."""
    items: list[Any] = [chunk({"role": "assistant", "content": None})]
    items += [chunk({"content": token}) for token in content]
    per_call: list[list[dict[str, Any]]] = []
    for index, (call_id, name, arguments) in enumerate(calls):
        deltas = [{"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]
        deltas += [
            {"index": index, "function": {"arguments": arguments[at : at + piece]}}
            for at in range(0, len(arguments), piece)
        ]
        per_call.append(deltas)
    if interleave:
        ordered = [d for row in _zip_longest(per_call) for d in row]
    else:
        ordered = [d for deltas in per_call for d in deltas]
    items += [chunk({"tool_calls": [delta]}) for delta in ordered]
    if finish_reason is not None:
        items.append(chunk({}, finish_reason))
    return items


def _zip_longest(rows: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    longest = max((len(row) for row in rows), default=0)
    return [[row[i] for row in rows if i < len(row)] for i in range(longest)]


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The last chunk of a stream requested with ``stream_options: {"include_usage": true}``."""
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


# -- replies -----------------------------------------------------------------------------------------
@dataclass
class Reply:
    """What the mock answers to one request (see the module docstring)."""

    items: list[Any] = field(default_factory=list)
    done: bool = True
    ending: Literal["complete", "end", "drop"] = "complete"
    framing: Literal["chunked", "close"] = "chunked"
    pause: float = 0.0
    endless: bool = False
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # a whole (non-streamed) body, for errors and JSON completions
    content_type: str = "text/event-stream"

    @classmethod
    def error(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> "Reply":
        """An error status with a JSON (dict) or text (str) body."""
        if isinstance(body, str):
            raw, kind = body.encode(), "text/plain; charset=utf-8"
        else:
            raw, kind = json.dumps(body).encode(), "application/json"
        return cls(status=status, headers=dict(headers or {}), body=raw, content_type=kind)

    @classmethod
    def completion(cls, completion: dict[str, Any]) -> "Reply":
        """One JSON completion (an endpoint that ignores ``"stream": true``)."""
        return cls(body=json.dumps(completion).encode(), content_type="application/json")

    @classmethod
    def endless_tokens(cls, pause: float = 0.001) -> "Reply":
        """Numbered tokens until the client hangs up."""
        return cls(items=[chunk({"role": "assistant", "content": ""})], endless=True, pause=pause)


def openai_error(
    message: str, kind: str = "rate_limit_error", code: str | None = "rate_limit_exceeded"
) -> dict[str, Any]:
    """An error body shaped like OpenAI's."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


class OpenAIMock:
    """The mock server (see the module docstring). Use it as a context manager.

    Args:
        replies: played one per request, in order; the last one answers every further request.
            A callable gets the ``RecordedRequest`` and returns the ``Reply``.

    Attributes:
        url: the API root, ``http://127.0.0.1:<port>/v1``.
        requests: every request received.
        items_sent: how many items (events) were written, over all requests.
        client_gone: set when a client hung up before its reply was complete.
        finished: set each time a handler finishes (its connection closed).
        release: set it to end every ``Stall``.
    """

    def __init__(self, *replies: Reply | Callable[[RecordedRequest], Reply]) -> None:
        self._replies = list(replies) or [Reply(text_chunks(["Hello", "!"]))]
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self.requests: list[RecordedRequest] = []
        self.items_sent = 0
        self.client_gone = threading.Event()
        self.finished = threading.Event()
        self.handlers_finished = 0
        self.release = threading.Event()
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="openai-mock-accept", daemon=True)

    def __enter__(self) -> "OpenAIMock":
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._acceptor.join(WAIT)
        for thread in list(self._threads):
            thread.join(WAIT)
        self._listener.close()
        if self.errors and exc_info[0] is None:
            raise AssertionError(f"the mock server failed: {self.errors[0]!r}") from self.errors[0]

    # -- serving -------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], POLL)
            if not readable:
                continue
            conn, _ = self._listener.accept()
            thread = threading.Thread(target=self._serve, args=(conn,), name="openai-mock-conn", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = self._read_request(conn)
            if request is None:
                return
            if request.method != "POST" or request.path.split("?", 1)[0] != "/v1/chat/completions":
                self._send_whole(conn, Reply.error(404, openai_error("no such route", "invalid_request_error", None)))
                return
            with self._lock:
                index = len(self.requests)
                self.requests.append(request)
            script = self._replies[min(index, len(self._replies) - 1)]
            reply = script(request) if callable(script) else script
            if reply.body is not None:
                self._send_whole(conn, reply)
            else:
                self._stream(conn, reply)
        except (BrokenPipeError, ConnectionResetError):
            self.client_gone.set()
        except BaseException as error:  # reported by __exit__
            self.errors.append(error)
        finally:
            conn.close()
            with self._lock:
                self.handlers_finished += 1
            self.finished.set()

    @staticmethod
    def _read_request(conn: socket.socket) -> RecordedRequest | None:
        request = read_head(conn)
        if request is None:
            return None
        method, path, headers, body = request
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            more = conn.recv(65536)
            if not more:
                return None
            body += more
        value = json.loads(body) if body else None
        return RecordedRequest(method, path, headers, value)

    @staticmethod
    def _head(status: int, fields: Iterable[tuple[str, str]]) -> bytes:
        reasons = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
                   503: "Service Unavailable", 401: "Unauthorized"}
        lines = [f"HTTP/1.1 {status} {reasons.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in fields]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send_whole(self, conn: socket.socket, reply: Reply) -> None:
        body = reply.body or b""
        fields = [("Content-Type", reply.content_type), ("Content-Length", str(len(body))), ("Connection", "close")]
        fields += list(reply.headers.items())
        conn.sendall(self._head(reply.status, fields) + body)

    def _stream(self, conn: socket.socket, reply: Reply) -> None:
        """Send the head and the items. Without a pause, everything up to a ``Stall`` (or the end)
        goes out in one write, so a client never waits between the head and those items (a stall
        test's read timeout then fires at the stall, however loaded the machine)."""
        chunked = reply.framing == "chunked"
        fields = [("Content-Type", reply.content_type), ("Cache-Control", "no-cache"), ("Connection", "close")]
        if chunked:
            fields.append(("Transfer-Encoding", "chunked"))
        fields += list(reply.headers.items())
        pending = bytearray(self._head(reply.status, fields))

        def send(data: bytes, framed: bool = True) -> None:
            pending.extend(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked and framed else data)
            if reply.pause:
                flush()

        def flush() -> None:
            conn.sendall(pending)
            pending.clear()

        def wait(seconds: float) -> bool:
            """Sleep up to ``seconds``; False when the client hung up meanwhile."""
            readable, _, _ = select.select([conn], [], [], seconds)
            if readable and not conn.recv(1024):
                self.client_gone.set()
                return False
            return True

        items = list(reply.items)
        count = 0
        while items or reply.endless:
            if self._stop.is_set():
                return
            item = items.pop(0) if items else chunk({"content": f" t{count}"})
            if isinstance(item, Stall):
                flush()
                while not (self.release.is_set() or self._stop.is_set()):
                    if not wait(POLL):
                        return
                continue
            send(item.data if isinstance(item, Raw) else b"data: " + json.dumps(item).encode() + b"\n\n")
            count += 1
            with self._lock:
                self.items_sent += 1
            if reply.pause and not wait(reply.pause):
                return
        if reply.ending == "drop":
            send(b"5\r\ndata:" if chunked else b'data: {"cho', framed=False)  # half a chunk, then gone
            flush()
            conn.shutdown(socket.SHUT_RDWR)
            return
        if reply.done and reply.ending == "complete":
            send(b"data: [DONE]\n\n")
        if chunked:
            send(b"0\r\n\r\n", framed=False)
        flush()


# -- flow helpers ------------------------------------------------------------------------------------
@pytest.fixture
def no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENAI_* or FLOWNO_LLM_* variable of the developer's shell reaches the node (use it autouse in a module)."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "FLOWNO_LLM_API_KEY",
                 "FLOWNO_LLM_BASE_URL", "FLOWNO_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


@node(stream_in=["tokens"])
async def Collect(tokens: Stream[str]) -> list[str]:
    return [token async for token in tokens]


@node(stream_in=["tokens"])
async def TakeThenCancel(tokens: Stream[str], wanted: int) -> list[str]:
    """The first ``wanted`` tokens; then it cancels the stream (the producer should hang up)."""
    taken: list[str] = []
    async for token in tokens:
        taken.append(token)
        if len(taken) == wanted:
            await tokens.cancel()
            break
    return taken


def ask(mock: OpenAIMock, messages: Any = "hi", **arguments: Any) -> Any:
    """Run ChatCompletion (``f.answer``) and a streaming consumer (``f.seen``) against ``mock``;
    returns the flow. No client socket may stay open, whatever happened."""
    with FlowHDL() as f:
        f.answer = ChatCompletion(messages, base_url=mock.url, **arguments)
        f.seen = Collect(f.answer)
    with SocketTracker() as tracker:
        try:
            f.run_until_complete()
        finally:
            assert tracker.still_open == []
    return f


def ask_error(mock: OpenAIMock, error_type: type[BaseException], **arguments: Any) -> Any:
    """The ``error_type`` exception that ``ask`` raises."""
    with pytest.raises(error_type) as caught:
        ask(mock, **arguments)
    return caught.value


def notes(error: BaseException) -> str:
    return "\n".join(getattr(error, "__notes__", []))
