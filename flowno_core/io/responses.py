"""What the client returns: ``Response`` (whole body) and the two streaming response types.

Theory of operation: these are plain dataclasses with flowno's field order (``client``, ``status``,
``headers``, ``body``), so code that builds or destructures them keeps working; ``method`` and
``url`` are extra keyword-only fields used in error messages. ``status`` is the full status line
("HTTP/1.1 200 OK") as in flowno. A streaming response's ``body`` is a ``BodyStream`` (an async
iterator that owns the connection); ``ErrStreamingResponse.body`` is ``bytes`` unless the server
sent a chunked body, as in flowno.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from typing_extensions import TypeIs

from .errors import HTTPException, _STATUS_CODE, _decode_text
from .headers import Headers, charset_of

T = TypeVar("T")


class JsonDecoding(Protocol):
    """What a response needs from the client that made it: its ``json_decoder`` (an ``HttpClient``).

    A protocol rather than ``HttpClient`` itself, so this module does not import the client (which
    imports this module).
    """

    json_decoder: json.JSONDecoder


def _media_type(headers: Headers) -> str:
    value = headers.get("content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def _is_json_type(headers: Headers) -> bool:
    media = _media_type(headers)
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def status_code_of(status: str) -> int:
    """The numeric code in a status line (0 when malformed).

    Examples:
        >>> status_code_of("HTTP/1.1 404 Not Found"), status_code_of("garbage")
        (404, 0)
    """
    parts = status.split(" ", 2)
    if len(parts) >= 2 and _STATUS_CODE.fullmatch(parts[1]):
        return int(parts[1])
    return 0


@dataclass
class ResponseBase:
    """Fields shared by every response.

    Attributes:
        client: the ``HttpClient`` that made the request (its ``json_decoder`` is used).
        status: the status line, e.g. ``"HTTP/1.1 200 OK"``.
        headers: the response headers.
        method: the request method (keyword-only).
        url: the URL that answered, after redirects (keyword-only).
    """

    client: JsonDecoding
    status: str
    headers: Headers
    method: str = field(default="GET", kw_only=True)
    url: str = field(default="", kw_only=True)

    @property
    def status_code(self) -> int:
        """The numeric status code (0 if the status line is malformed)."""
        return status_code_of(self.status)

    @property
    def is_ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status_code < 300

    def is_json(self) -> bool:
        """True when the Content-Type is JSON (``application/json`` or ``application/*+json``)."""
        return _is_json_type(self.headers)

    def _decode_json_bytes(self, body: bytes) -> Any:
        decoder = self.client.json_decoder if self.client is not None else json.JSONDecoder()
        try:
            text = body.decode(charset_of(self.headers.get("content-type")))
        except LookupError:  # a charset Python does not know: JSON is UTF-8 anyway (RFC 8259)
            text = body.decode("utf-8")
        return decoder.decode(text)


@dataclass
class Response(ResponseBase):
    """A response whose body was read completely (and decompressed).

    Example::

        async def main():
            response = await HttpClient().get("http://127.0.0.1:8080/items?page=2")
            response.raise_for_status()
            items = response.decode_json()
    """

    body: bytes

    def decode_json(self) -> Any:
        """The body parsed with the client's ``json_decoder``."""
        return self._decode_json_bytes(self.body)

    def text(self) -> str:
        """The body decoded with the Content-Type's charset (UTF-8 by default)."""
        return _decode_text(self.body, self.headers.get("content-type"))

    def raise_for_status(self) -> "Response":
        """Raise ``HTTPException`` (naming method, URL and status) unless the status is 2xx.

        The exception keeps ``status_code``, ``headers``, ``body`` and ``retry_after``. Returns the
        response itself, so calls can be chained.
        """
        if not self.is_ok:
            raise HTTPException(self.status, self.body, method=self.method, url=self.url, headers=self.headers)
        return self


@dataclass
class OkStreamingResponse(ResponseBase, Generic[T]):
    """A 2xx streaming response: iterate ``body`` for the chunks, SSE JSON values or events.

    Close the body (``await response.body.aclose()`` or ``async with response.body:``) to drop the
    connection early; it is closed automatically at the end of the stream and on any error.

    Example::

        async def main():
            response = await HttpClient().stream_get("http://127.0.0.1:8080/events")
            if streaming_response_is_ok(response):
                async for value in response.body:
                    print(value)
    """

    body: AsyncIterator[T]

    async def aclose(self) -> None:
        """Close the body and its connection."""
        aclose = getattr(self.body, "aclose", None)
        if aclose is not None:
            await aclose()


@dataclass
class ErrStreamingResponse(ResponseBase):
    """A non-2xx answer to a streaming request.

    ``body`` is ``bytes`` (already read and decompressed) unless the server sent a chunked body, in
    which case it is an async iterator of byte chunks, as in flowno.
    """

    body: bytes | AsyncIterator[bytes]

    async def read(self) -> bytes:
        """The whole body as bytes (collecting a chunked body)."""
        if isinstance(self.body, bytes | bytearray):
            return bytes(self.body)
        parts = [bytes(chunk) async for chunk in self.body]
        self.body = b"".join(parts)
        return self.body

    async def decode_json(self) -> Any:
        """The body parsed as JSON (async because a chunked body must be collected first)."""
        return self._decode_json_bytes(await self.read())

    async def aclose(self) -> None:
        """Close a streaming body and its connection (no-op for a bytes body)."""
        aclose = getattr(self.body, "aclose", None)
        if aclose is not None:
            await aclose()

    async def raise_for_status(self) -> None:
        """Raise ``HTTPException`` with the status, the headers and the (collected) body."""
        raise HTTPException(self.status, await self.read(), method=self.method, url=self.url, headers=self.headers)


def streaming_response_is_ok(response: OkStreamingResponse[T] | ErrStreamingResponse) -> TypeIs[OkStreamingResponse[T]]:
    """Type guard: True (and the type narrows to ``OkStreamingResponse``) for a 2xx status.

    Example::

        response = await client.stream_post(url, json=payload)
        if streaming_response_is_ok(response):
            async for event in response.body: ...
        else:
            print(response.status, await response.decode_json())
    """
    return 200 <= status_code_of(response.status) < 300


__all__ = ["ErrStreamingResponse", "OkStreamingResponse", "Response", "ResponseBase", "streaming_response_is_ok"]
