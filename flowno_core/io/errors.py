"""Exceptions of flowno_core.io, one docstring each.

Theory of operation: every client error names the request it belongs to, as ``"METHOD URL: what
happened"``, with the URL's credentials and secret-looking query values masked. Transport errors
derive from ``HttpError``; each also derives from the stdlib class a caller would naturally catch
(``ConnectionError``, ``TimeoutError``, ``ValueError``), so generic handlers keep working.
``HTTPException`` is flowno's name for an error *status*: the client raises it from
``raise_for_status()`` and an ``HttpServer`` handler raises it to answer with that status.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from typing import Any

from .headers import Headers, charset_of

_STATUS_CODE = re.compile(r"\b([1-5]\d\d)\b")


class HTTPException(Exception):
    """An HTTP error status, with the response's headers and body.

    A client raises it from ``Response.raise_for_status()`` (and ``ErrStreamingResponse``'s); an
    ``HttpServer`` handler raises it to answer with ``status`` and ``message`` as the body.

    Args:
        status: a status code (``404``) or a status line (``"HTTP/1.1 404 Not Found"``).
        message: the response body (or a short explanation), ``str`` or ``bytes``.
        method: the request method, when known.
        url: the request URL, when known.
        headers: the response headers, when known (a ``Headers``, a mapping or a list of pairs).
        body: the decoded response body as bytes; defaults to ``message`` (encoded as UTF-8 if str).

    Attributes:
        status: as given (flowno's field).
        message: as given (flowno's field).
        status_code: the numeric status (``int``; 0 when ``status`` holds no 3-digit code).
        headers: the response headers (``Headers``; empty when unknown).
        body: the response body, decompressed (``bytes``).
        text: ``body`` decoded with the Content-Type's charset (UTF-8 by default, bad bytes replaced).
        retry_after: the ``Retry-After`` header in seconds (``float``), or ``None`` when absent or
            unreadable; an HTTP date becomes the seconds left until then (0 when past).
        method / url: the request, when known.

    The message reads ``"METHOD URL: status line: body text"``; the body is shown as text, cut after
    500 characters.

    Examples:
        >>> error = HTTPException("HTTP/1.1 429 Too Many Requests", b"slow down", method="GET",
        ...                       url="http://h/x", headers={"Retry-After": "3"})
        >>> error.status_code, error.retry_after, error.body
        (429, 3.0, b'slow down')
        >>> str(error)
        'GET http://h/x: HTTP/1.1 429 Too Many Requests: slow down'
    """

    def __init__(self, status: str | int, message: str | bytes = b"", *, method: str | None = None,
                 url: str | None = None, headers: Any = None, body: bytes | None = None) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        if headers is None:
            headers = Headers()
        elif not isinstance(headers, Headers):
            headers = Headers(headers)
        self.headers: Headers = headers
        if body is None:
            body = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        self.body: bytes = body
        super().__init__(self._describe())

    @property
    def status_code(self) -> int:
        """The numeric status (0 when ``status`` holds no 3-digit code)."""
        if isinstance(self.status, int):
            return self.status
        match = _STATUS_CODE.search(self.status)
        return int(match.group(1)) if match else 0

    @property
    def text(self) -> str:
        """The body as text (the Content-Type's charset, UTF-8 by default; bad bytes replaced)."""
        return _decode_text(self.body, self.headers.get("content-type"))

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds (delay-seconds or an HTTP date), ``None`` if absent or unreadable."""
        return parse_retry_after(self.headers.get("retry-after"))

    def _describe(self) -> str:
        text = self.text.strip()
        if len(text) > _SHOWN:
            text = text[:_SHOWN] + "..."
        where = f"{self.method} {self.url}: " if self.method and self.url else ""
        return f"{where}{self.status}: {text}" if text else f"{where}{self.status}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_http_exception, (self.status, self.message, self.method, self.url,
                                          self.headers.items(), self.body))


_SHOWN = 500


def _rebuild_http_exception(status: str | int, message: str | bytes, method: str | None, url: str | None,
                            headers: list[tuple[str, str]], body: bytes) -> HTTPException:
    return HTTPException(status, message, method=method, url=url, headers=headers, body=body)


def _decode_text(body: bytes, content_type: str | None) -> str:
    try:
        return body.decode(charset_of(content_type), errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    Examples:
        >>> parse_retry_after("120"), parse_retry_after("soon"), parse_retry_after(None)
        (120.0, None, None)
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")  # in the past
        0.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


class HttpError(Exception):
    """Base class of the client's transport and protocol errors; names method and URL.

    Attributes:
        method: the request method.
        url: the request URL (credentials and secret query values masked).
        detail: what went wrong.
    """

    def __init__(self, method: str, url: str, detail: str) -> None:
        self.method = method
        self.url = url
        self.detail = detail
        super().__init__(f"{method} {url}: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.detail))


class InvalidURL(HttpError, ValueError):
    """The URL cannot be requested (unknown scheme, no host, bad port)."""


class HttpConnectionError(HttpError, ConnectionError):
    """The connection failed: name resolution, refusal, unreachable host, TLS, or a reset mid-request."""


class HttpProtocolError(HttpError):
    """The peer broke HTTP: malformed status line or headers, bad chunk framing, a truncated body,
    undecodable compressed data, or an SSE payload that is not the JSON it announced."""


class IncompleteBodyError(HttpProtocolError, HttpConnectionError):
    """The connection ended before the response body did (a Content-Length or chunked body cut short).

    Both an ``HttpProtocolError`` (the message is incomplete) and an ``HttpConnectionError`` (the
    connection dropped), so either handler catches it.

    Attributes:
        received: body bytes that arrived before the connection ended (as sent, before decompression).
        expected: the announced Content-Length, or ``None`` (chunked, or delimited by the close).
        how: ``"closed"`` (the server closed the connection) or ``"reset"`` (it was reset).
        chunked: True for a chunked body.
    """

    def __init__(self, method: str, url: str, received: int, expected: int | None, how: str = "closed",
                 chunked: bool = False) -> None:
        self.received = received
        self.expected = expected
        self.how = how
        self.chunked = chunked
        if chunked:
            what = f"after {received} bytes of a chunked body"
        elif expected is not None:
            what = f"after {received} of the {expected} bytes of the body (Content-Length)"
        else:
            what = f"after {received} bytes of the body"
        HttpError.__init__(self, method, url, f"connection {how} by the server {what}: the response is incomplete")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.received, self.expected, self.how, self.chunked))


class ResponseTooLarge(HttpProtocolError):
    """The response is bigger than a client limit: the head beyond ``max_header_size``, or a body read
    whole (``get``, ``post``, ``request``) beyond ``max_body_size`` (counted after decompression).

    Attributes:
        limit: the limit that was exceeded, in bytes.
    """

    def __init__(self, method: str, url: str, detail: str, limit: int) -> None:
        self.limit = limit
        super().__init__(method, url, detail)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.detail, self.limit))


class HttpTimeoutError(HttpError, TimeoutError):
    """A request took longer than one of its timeouts.

    Attributes:
        phase: ``"connect"``, ``"read"``, ``"write"`` (sending, bounded by the read timeout) or
            ``"total"``: which timeout fired.
        seconds: that timeout's value.
    """

    def __init__(self, method: str, url: str, phase: str, seconds: float) -> None:
        self.phase = phase
        self.seconds = seconds
        what = {
            "connect": "could not connect (including name lookup and TLS handshake)",
            "read": "no data from the peer",
            "write": "the peer is not accepting data",
            "total": "the whole request, body included, took too long",
        }.get(phase, phase)
        super().__init__(method, url, f"{phase} timeout after {seconds:g}s ({what})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.phase, self.seconds))


class TooManyRedirects(HttpError):
    """More redirects than the client's ``max_redirects``; ``history`` lists the URLs visited."""

    def __init__(self, method: str, url: str, history: list[str], limit: int) -> None:
        self.history = history
        self.limit = limit
        chain = " -> ".join(history)
        super().__init__(method, url, f"more than {limit} redirects: {chain}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.history, self.limit))


__all__ = [
    "HTTPException",
    "HttpConnectionError",
    "HttpError",
    "HttpProtocolError",
    "HttpTimeoutError",
    "IncompleteBodyError",
    "InvalidURL",
    "ResponseTooLarge",
    "TooManyRedirects",
]
