"""BodyStream: the async iterator behind a streaming response; it owns the connection.

Theory of operation: ``__anext__`` pulls h11 events from the connection, undoes the
Content-Encoding, and turns the bytes into items according to the mode: raw chunks (``"bytes"``),
JSON values from server-sent events (``"json"``, flowno's behaviour), or ``ServerSentEvent``
objects (``"events"``). Items completed by one read are queued and handed out one per call. All
parsing state lives on the stream object, so two streams on one client never interfere.

The connection is released exactly once: back to the client's pool when the body ended cleanly
and the connection can carry another request, otherwise closed. At ``[DONE]`` the rest of the body
is not wanted: the connection is closed at once, or, when ``drain_after_done`` allows (keep-alive),
the stream reads on to the end of the body (discarding at most that many bytes) so the connection
can be pooled. It is closed on any error (a malformed chunk, a timeout, cancellation of the consuming task), by ``aclose()``/
``close()``/``async with``, and as a last resort when the stream is garbage-collected unread. A
closed stream raises ``StopAsyncIteration``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

import h11

from ._decoding import BodyDecoder, DecodeError
from .connection import ClientConnection, RequestContext
from .sse import SSEJsonDecoder, SSEParser

T = TypeVar("T")

StreamMode = Literal["bytes", "json", "events"]


class BodyStream(AsyncIterator[T]):
    """Iterate a response body as it arrives; closing it closes the connection.

    Example::

        response = await client.stream_get("http://127.0.0.1:8080/log")
        async with response.body as chunks:        # closed on exit, even on break or error
            async for chunk in chunks:
                if b"ERROR" in chunk:
                    break

    Attributes:
        bytes_received: body bytes read from the wire so far (before decompression).
        items: how many items were handed out so far.
        done_received: True once a ``[DONE]`` event ended an SSE JSON stream.
    """

    def __init__(
        self,
        connection: ClientConnection,
        ctx: RequestContext,
        mode: StreamMode,
        content_encoding: str | None,
        release: Callable[[ClientConnection, bool], None],
        json_decoder: Any = None,
        on_end: Callable[["BodyStream", BaseException | None], None] | None = None,
        drain_after_done: int = 0,
    ) -> None:
        self._conn: ClientConnection | None = connection
        self._ctx = ctx
        self.mode = mode
        self._decoder = BodyDecoder(content_encoding)
        self._release = release
        self._items: deque[Any] = deque()
        self._parser = SSEParser() if mode != "bytes" else None
        self._json = SSEJsonDecoder(json_decoder) if mode == "json" else None
        self._on_end = on_end
        self.bytes_received = 0
        self.items = 0
        self.done_received = False
        self._drain_budget = drain_after_done
        self._draining = False
        self._log = ctx.http_logger
        self._log_id = ctx.conn_id(connection) if self._log is not None else ""
        self._chunks = 0
        self._events = 0
        self._started = time.monotonic()

    @property
    def closed(self) -> bool:
        """True once the connection was released or closed."""
        return self._conn is None

    def __aiter__(self) -> "BodyStream[T]":
        return self

    async def __anext__(self) -> T:
        items = self._items
        if items:
            self.items += 1
            return items.popleft()
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            while not items and self._conn is not None:
                event = await conn.next_event(self._ctx)
                kind = type(event)
                if kind is h11.Data:
                    data = bytes(event.data)
                    self.bytes_received += len(data)
                    if self._draining:
                        self._drain(len(data))
                        continue
                    self._chunks += 1
                    if self._log is not None:
                        self._log.log_chunk(self._log_id, self._chunks, len(data), len(data))
                    self._accept(self._decode(data))
                elif kind is h11.EndOfMessage or kind is h11.ConnectionClosed:
                    if not self._draining:
                        self._accept(self._finish_decoding())
                        self._end_of_body()
                    self._finish(conn.reusable, None)
                else:
                    raise self._ctx.protocol_error(f"unexpected {kind.__name__} in the response body")
        except BaseException as error:
            self._finish(False, error)
            raise
        if items:
            self.items += 1
            return items.popleft()
        raise StopAsyncIteration

    def _decode(self, data: bytes) -> bytes:
        if not self._decoder.active:
            return data
        try:
            return self._decoder.feed(data)
        except DecodeError as error:
            raise self._ctx.protocol_error(str(error)) from None

    def _finish_decoding(self) -> bytes:
        try:
            return self._decoder.finish()
        except DecodeError as error:
            raise self._ctx.protocol_error(str(error)) from None

    def _accept(self, data: bytes) -> None:
        if not data:
            return
        parser = self._parser
        if parser is None:
            self._items.append(data)
            return
        events = parser.feed(data)
        if self._log is not None:
            for offset, event in enumerate(events, start=self._events + 1):
                self._log.log_sse_event(self._log_id, offset, len(event.data), True,
                                        done=event.data.strip() == "[DONE]")
        self._events += len(events)
        decoder = self._json
        if decoder is None:
            self._items.extend(events)
            return
        for event in events:
            try:
                self._items.extend(decoder.decode(event))
            except ValueError as error:
                raise self._ctx.protocol_error(str(error)) from None
            if decoder.done:
                self.done_received = True
                if self._drain_budget > 0:
                    self._draining = True  # read on to the end of the body, then pool the connection
                else:
                    self._finish(False, None)  # the rest of the stream is not wanted
                return

    def _drain(self, size: int) -> None:
        self._drain_budget -= size
        if self._drain_budget < 0:
            self._finish(False, None)  # too much after [DONE]: not worth keeping the connection

    def _end_of_body(self) -> None:
        if self._parser is not None:
            self._parser.close()
        if self._json is not None:
            try:
                self._json.finish()
            except ValueError as error:
                raise self._ctx.protocol_error(str(error)) from None

    def _finish(self, reusable: bool, error: BaseException | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if error is not None:
            self._items.clear()
        if self._log is not None:
            self._log.log_stream_end(self._log_id, self.bytes_received, self._chunks, self._events,
                                     (time.monotonic() - self._started) * 1000, self.done_received)
        self._release(conn, reusable)
        if self._on_end is not None:
            self._on_end(self, error)

    async def aclose(self) -> None:
        """Stop reading and close the connection (idempotent)."""
        self.close()

    def close(self) -> None:
        """Synchronous ``aclose`` (usable from ``finally`` blocks that cannot await)."""
        self._items.clear()
        self._finish(False, None)

    async def __aenter__(self) -> "BodyStream[T]":
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            self._conn = None
            try:
                conn.close()
            except Exception:  # pragma: no cover - interpreter shutdown
                pass

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<BodyStream {self._ctx.method} {self._ctx.url} mode={self.mode} {state}>"
