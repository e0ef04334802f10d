"""Server-sent events (``text/event-stream``): an incremental parser, a JSON layer and a formatter.

Theory of operation: ``SSEParser`` is a pure state machine fed raw bytes in pieces of any size. It
cuts lines at CRLF, LF or CR on the *bytes* (these bytes never occur inside a multi-byte UTF-8
character, so a character split across reads is decoded whole), remembers how far it scanned so
one-byte reads stay linear, and waits when a buffer ends in CR (the LF may follow). Fields follow
the WHATWG rules: ``data`` lines are joined with ``\\n``, ``event``/``id``/``retry`` are kept,
comments (``:``) are skipped, and a blank line dispatches the event. An unfinished event at end of
stream is dropped, as the standard says. Nothing is shared between parsers, so concurrent streams
on one client are independent (SPEC §6.1 item 15).

``SSEJsonDecoder`` sits on top for the flowno-compatible body: ``[DONE]`` ends the stream, every
other data payload is decoded with ``json.JSONDecoder.raw_decode`` (several values in one event are
all yielded), and a payload that is an unfinished JSON value is kept and joined with the next
event's data, as flowno did. A payload that is not JSON raises ``ValueError``.

``format_event`` builds the wire form for servers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_DONE = "[DONE]"
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    Attributes:
        data: the data lines joined with ``"\\n"``.
        event: the event type (``"message"`` when the stream gave none).
        id: the last event id seen on the stream (``None`` if never set).
        retry: the reconnection time in milliseconds, if this event set one.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def json(self, decoder: json.JSONDecoder | None = None) -> Any:
        """Decode ``data`` as JSON.

        Examples:
            >>> ServerSentEvent('{"a": 1}').json()
            {'a': 1}
        """
        return (decoder or json.JSONDecoder()).decode(self.data)


class SSEParser:
    """Incremental ``text/event-stream`` parser: feed bytes, get the events they complete.

    Examples:
        >>> parser = SSEParser()
        >>> parser.feed(b"event: greet\\ndata: hel")
        []
        >>> [(e.event, e.data) for e in parser.feed(b"lo\\ndata: world\\n\\n")]
        [('greet', 'hello\\nworld')]
    """

    __slots__ = ("_buffer", "_scan", "_data", "_event", "_last_id", "_retry", "_started")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan = 0
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse ``chunk``; returns the events it completes (often none)."""
        buffer = self._buffer
        buffer += chunk
        events: list[ServerSentEvent] = []
        if not self._started:
            if len(buffer) < 3 and b"\xef\xbb\xbf".startswith(bytes(buffer)):
                return events
            self._started = True
            if buffer.startswith(b"\xef\xbb\xbf"):
                del buffer[:3]
        start = 0
        pos = self._scan
        size = len(buffer)
        while pos < size:
            byte = buffer[pos]
            if byte == 0x0A or byte == 0x0D:
                if byte == 0x0D:
                    if pos + 1 == size:
                        break  # CR at the end: wait to see whether LF follows
                    end = pos + 2 if buffer[pos + 1] == 0x0A else pos + 1
                else:
                    end = pos + 1
                event = self._line(bytes(buffer[start:pos]))
                if event is not None:
                    events.append(event)
                start = pos = end
                continue
            found = _next_line_end(buffer, pos)
            pos = size if found < 0 else found
        del buffer[:start]
        self._scan = pos - start
        return events

    def close(self) -> None:
        """End of stream: an event without its final blank line is discarded."""
        self._buffer.clear()
        self._scan = 0
        self._data.clear()
        self._event = ""

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        line = raw.decode("utf-8", errors="replace")
        if line[0] == ":":
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\x00" not in value:
                self._last_id = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return ServerSentEvent("\n".join(data), event or "message", self._last_id, retry)


def _next_line_end(buffer: bytearray, pos: int) -> int:
    lf = buffer.find(b"\n", pos)
    cr = buffer.find(b"\r", pos)
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)


class SSEJsonDecoder:
    """Turns SSE events into JSON values (flowno's streaming body for ``text/event-stream``).

    ``done`` becomes True at the ``[DONE]`` sentinel; events after it are ignored.

    Examples:
        >>> decoder = SSEJsonDecoder()
        >>> decoder.decode(ServerSentEvent('{"token": "a"}'))
        [{'token': 'a'}]
        >>> decoder.decode(ServerSentEvent('{"tok'))   # unfinished: kept
        []
        >>> decoder.decode(ServerSentEvent('en": "b"}'))
        [{'token': 'b'}]
        >>> decoder.decode(ServerSentEvent("[DONE]")), decoder.done
        ([], True)
    """

    __slots__ = ("_decoder", "_pending", "done")

    def __init__(self, decoder: json.JSONDecoder | None = None) -> None:
        self._decoder = decoder or json.JSONDecoder()
        self._pending = ""
        self.done = False

    def decode(self, event: ServerSentEvent) -> list[Any]:
        """The JSON values carried by ``event`` (empty while a value is unfinished or after DONE)."""
        values: list[Any] = []
        if self.done:
            return values
        if event.data.strip() == _DONE and not self._pending:
            self.done = True
            return values
        text = self._pending + event.data
        self._pending = ""
        raw_decode = self._decoder.raw_decode
        pos = _skip_ws(text, 0)
        while pos < len(text):
            try:
                value, pos = raw_decode(text, pos)
            except json.JSONDecodeError as error:
                if _unfinished(text, pos, error):
                    self._pending = text[pos:]
                    return values
                excerpt = text[pos : pos + 80]
                raise ValueError(f"SSE data is not JSON ({error.msg} at char {error.pos}): {excerpt!r}") from None
            values.append(value)
            pos = _skip_ws(text, pos)
        return values

    def finish(self) -> None:
        """End of stream: raise if an unfinished JSON value is still buffered."""
        if self._pending:
            excerpt = self._pending[:80]
            self._pending = ""
            raise ValueError(f"the stream ended inside a JSON value: {excerpt!r}")


def _skip_ws(text: str, pos: int) -> int:
    size = len(text)
    while pos < size and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _unfinished(text: str, start: int, error: json.JSONDecodeError) -> bool:
    """Could more text complete the JSON value that starts at ``start``?"""
    if error.pos >= len(text.rstrip()):
        return True
    if error.msg.startswith("Unterminated string"):
        return True
    rest = text[error.pos :].rstrip()
    return error.msg == "Expecting value" and any(lit.startswith(rest) and lit != rest for lit in _LITERALS)


def format_event(
    data: Any, *, event: str | None = None, id: str | None = None, retry: int | None = None  # noqa: A002
) -> bytes:
    """Encode one event for the wire; ``data`` that is not ``str``/``bytes`` is sent as JSON.

    Examples:
        >>> format_event({"token": "hi"})
        b'data: {"token": "hi"}\\n\\n'
        >>> format_event("two\\nlines", event="note")
        b'event: note\\ndata: two\\ndata: lines\\n\\n'
    """
    if isinstance(data, ServerSentEvent):
        return format_event(data.data, event=data.event if data.event != "message" else None,
                            id=data.id, retry=data.retry)
    if isinstance(data, bytes):
        text = data.decode("utf-8")
    elif isinstance(data, str):
        text = data
    else:
        text = json.dumps(data)
    lines = []
    for name, value in (("event", event), ("id", id)):
        if value is not None:
            if "\n" in value or "\r" in value:
                raise ValueError(f"SSE {name} may not contain a line break: {value!r}")
            lines.append(f"{name}: {value}")
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.append(f"data: {line}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


__all__ = ["SSEJsonDecoder", "SSEParser", "ServerSentEvent", "format_event"]
