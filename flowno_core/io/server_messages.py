"""What an HttpServer handler receives and returns.

Theory of operation: a handler gets a ``ServerRequest`` whose body was read completely (within
the server's size and time limits) and returns either a ``ServerResponse`` / ``StreamingResponse``
or a plain value that ``coerce_response`` turns into one: ``bytes`` (octet-stream), ``str``
(text/plain), ``None`` (204), an async iterable (a streamed body), anything else (JSON).
``sse_response`` wraps an async iterable of values into a ``text/event-stream`` response; the
formatting lives in ``sse.format_event`` so client and server agree on the wire form.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .headers import Headers
from .sse import format_event


@dataclass
class ServerRequest:
    """One request as a handler sees it.

    Attributes:
        method: upper-case method, e.g. ``"POST"``.
        target: the request target as sent (``"/items?page=2"``).
        path: the decoded path (``"/items"``).
        query_string: the raw query string (``"page=2"``).
        query: parsed query parameters (each name maps to a list of values).
        headers: the request headers.
        body: the whole body.
        client: the peer address.
        http_version: ``"1.1"`` or ``"1.0"``.
        path_params: values captured by ``{name}`` segments of the route.

    Example::

        @server.route("/items/{item_id}", methods=["GET"])
        async def show(request: ServerRequest):
            return {"id": request.path_params["item_id"], "page": request.arg("page", "1")}
    """

    method: str
    target: str
    path: str
    query_string: str
    headers: Headers
    body: bytes = b""
    client: Any = None
    http_version: str = "1.1"
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name`` (or ``default``)."""
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def request_line(self) -> str:
        """``"GET /path?q HTTP/1.1"`` (what flowno's ``_generate_response`` received)."""
        return f"{self.method} {self.target} HTTP/{self.http_version}"

    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not JSON; the server answers 400)."""
        return json.loads(self.body)


def _as_headers(headers: Headers | Mapping[str, str] | None) -> Headers:
    if headers is None:
        return Headers()
    if isinstance(headers, Headers):
        return headers.copy()
    return Headers(headers)


@dataclass
class ServerResponse:
    """A complete response: status, headers and a body sent with Content-Length.

    Example::

        return ServerResponse(201, b"created", {"Location": "/items/7"})
        return ServerResponse.json({"ok": True})
    """

    status: int = 200
    body: bytes | str = b""
    headers: Headers | Mapping[str, str] | None = None
    content_type: str | None = None

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Headers | Mapping[str, str] | None = None) -> "ServerResponse":
        """A JSON body with ``Content-Type: application/json``."""
        return cls(status, json.dumps(value).encode("utf-8"), headers, "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200, headers: Headers | Mapping[str, str] | None = None) -> "ServerResponse":
        """A UTF-8 text body."""
        return cls(status, text.encode("utf-8"), headers, "text/plain; charset=utf-8")

    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else bytes(self.body)

    def header_block(self) -> Headers:
        headers = _as_headers(self.headers)
        if self.content_type and "content-type" not in headers:
            headers.set("Content-Type", self.content_type)
        return headers


@dataclass
class StreamingResponse:
    """A response whose body is produced while it is sent (chunked transfer encoding).

    The server closes the iterator (``aclose``) when the client goes away or the server stops, so
    an async generator's ``finally`` block runs.

    Example::

        async def numbers():
            for i in range(3):
                yield f"{i}\\n"
                await sleep(0.1)

        return StreamingResponse(numbers(), content_type="text/plain")
    """

    body: AsyncIterable[bytes | str]
    status: int = 200
    headers: Headers | Mapping[str, str] | None = None
    content_type: str | None = "application/octet-stream"

    def header_block(self) -> Headers:
        headers = _as_headers(self.headers)
        if self.content_type and "content-type" not in headers:
            headers.set("Content-Type", self.content_type)
        return headers


def sse_response(events: AsyncIterable[Any], *, done: bool = False, status: int = 200,
                 headers: Headers | Mapping[str, str] | None = None) -> StreamingResponse:
    """Stream ``events`` as server-sent events (each value through ``sse.format_event``).

    Args:
        events: values to send; ``str`` is sent as data, a ``ServerSentEvent`` with its fields,
            anything else as JSON.
        done: send a final ``data: [DONE]`` event (OpenAI-style streams).

    Example::

        @server.route("/tokens")
        async def tokens(request):
            async def gen():
                for word in ["Hello", " world"]:
                    yield {"token": word}
            return sse_response(gen(), done=True)
    """

    async def encode() -> AsyncIterator[bytes]:
        iterator = events.__aiter__()
        try:
            async for value in iterator:
                yield format_event(value)
            if done:
                yield b"data: [DONE]\n\n"
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    block = _as_headers(headers)
    if "cache-control" not in block:
        block.set("Cache-Control", "no-cache")
    return StreamingResponse(encode(), status, block, "text/event-stream")


def coerce_response(result: Any) -> ServerResponse | StreamingResponse:
    """Turn a handler's return value into a response object (see the module docstring)."""
    if isinstance(result, ServerResponse | StreamingResponse):
        return result
    if result is None:
        return ServerResponse(204)
    if isinstance(result, bytes | bytearray | memoryview):
        return ServerResponse(200, bytes(result), None, "application/octet-stream")
    if isinstance(result, str):
        return ServerResponse.text(result)
    if hasattr(result, "__aiter__"):
        return StreamingResponse(result)
    return ServerResponse.json(result)


__all__ = ["ServerRequest", "ServerResponse", "StreamingResponse", "coerce_response", "sse_response"]
