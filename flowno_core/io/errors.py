"""Exceptions of flowno_core.io, one docstring each.

Theory of operation: every client error names the request it belongs to, as ``"METHOD URL: what
happened"``, with the URL's credentials and secret-looking query values masked. Transport errors
derive from ``HttpError``; each also derives from the stdlib class a caller would naturally catch
(``ConnectionError``, ``TimeoutError``, ``ValueError``), so generic handlers keep working.
``HTTPException`` is flowno's name for an error *status*: the client raises it from
``raise_for_status()`` and an ``HttpServer`` handler raises it to answer with that status.
"""

from __future__ import annotations

import re
from typing import Any

_STATUS_CODE = re.compile(r"\b([1-5]\d\d)\b")


class HTTPException(Exception):
    """An HTTP error status and its body.

    A client raises it from ``Response.raise_for_status()``; an ``HttpServer`` handler raises it to
    answer with ``status`` and ``message`` as the body.

    Args:
        status: a status code (``404``) or a status line (``"HTTP/1.1 404 Not Found"``).
        message: the response body (or a short explanation).
        method: the request method, when known.
        url: the request URL, when known.

    Example:
        >>> error = HTTPException("HTTP/1.1 404 Not Found", b"no such page", method="GET", url="http://h/x")
        >>> error.status_code
        404
        >>> str(error)
        "GET http://h/x: HTTP/1.1 404 Not Found: b'no such page'"
    """

    def __init__(self, status: str | int, message: str | bytes = b"", *, method: str | None = None,
                 url: str | None = None) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        super().__init__(self._describe())

    @property
    def status_code(self) -> int:
        """The numeric status (0 when ``status`` holds no 3-digit code)."""
        if isinstance(self.status, int):
            return self.status
        match = _STATUS_CODE.search(self.status)
        return int(match.group(1)) if match else 0

    def _describe(self) -> str:
        body = self.message
        if len(body) > 200:
            body = body[:200] + b"..." if isinstance(body, bytes) else body[:200] + "..."
        where = f"{self.method} {self.url}: " if self.method and self.url else ""
        return f"{where}{self.status}: {body!r}"


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
    "InvalidURL",
    "TooManyRedirects",
]
