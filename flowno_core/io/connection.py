"""Client connections: one socket plus one h11 state machine, and per-request timeout bookkeeping.

Theory of operation: h11 does all HTTP/1.1 framing (status line, headers, Content-Length, chunked
and close-delimited bodies); this module only moves bytes between it and a ``SocketHandle``. Every
socket wait goes through ``RequestContext.timed``, which arms a ``move_on_after`` scope for the
smaller of the phase's own timeout (connect, read) and what is left of the request's total budget,
and turns an expiry into ``HttpTimeoutError`` naming method, URL and the timeout that fired. Each
request has its own ``RequestContext`` (no state lives on the client), so concurrent requests on one
client are independent. ``HttpTimeoutError`` is an ``OSError`` (through ``TimeoutError``), so every ``except OSError``
here lets ``HttpError`` through first. Whoever holds a ``ClientConnection`` closes it on every error path,
cancellation included (``except BaseException: close; raise``).

How a response can end badly, and what says so: h11's own complaints become ``HttpProtocolError``
("malformed response"), except a head beyond ``max_header_size`` (``ResponseTooLarge``); the peer
closing or resetting the connection while a Content-Length or chunked body is still due becomes
``IncompleteBodyError`` with the number of body bytes that arrived (counted here, per response);
closing before a complete head is a protocol error that says so.
"""

from __future__ import annotations

import select
import socket as _socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import h11

from .._kernel.loop import current_event_loop
from .._kernel.threads import to_thread
from .._sockets import SocketHandle, TLSSocketHandle
from .._timeouts import move_on_after
from ._url import Target
from .http_logging import _current_http_logger
from .errors import (
    HttpConnectionError,
    HttpError,
    HttpProtocolError,
    HttpTimeoutError,
    IncompleteBodyError,
    ResponseTooLarge,
)
from .proxy import ProxyRoute, open_tunnel

R = TypeVar("R")

READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Timeout:
    """Timeouts of one request, in seconds of loop time (``None`` = no limit).

    Attributes:
        connect: name lookup + TCP connect + TLS handshake.
        read: the longest wait for the peer during the exchange (each read, and each send).
        total: the whole request, redirects and (for streams) the whole body included.

    Examples:
        >>> Timeout(connect=5, read=30)
        Timeout(connect=5, read=30, total=None)
        >>> Timeout.coerce(10)
        Timeout(connect=10.0, read=10.0, total=None)
    """

    connect: float | None = 30.0
    read: float | None = 300.0
    total: float | None = None

    @classmethod
    def coerce(cls, value: "Timeout | float | None") -> "Timeout":
        """A ``Timeout`` from a Timeout, a number (connect and read) or None (no limits)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(float(value), float(value), None) if value > 0 else _bad_timeout(value)
        raise TypeError(f"timeout must be a Timeout, a number of seconds or None, not {type(value).__name__}")


def _bad_timeout(value: float) -> Timeout:
    raise ValueError(f"a timeout must be positive, got {value}")


class RequestContext:
    """What one request needs to name itself in errors and to keep its deadlines.

    ``deadline`` (the client's ``max_request_time`` for whole-body requests) tightens
    ``timeout.total``; ``total`` is the one that applies, and a timeout error says which fired.
    """

    __slots__ = ("method", "url", "timeout", "total", "http_logger", "_end", "_loop", "_deadline_binds")

    def __init__(self, method: str, url: str, timeout: Timeout, deadline: float | None = None) -> None:
        self.method = method
        self.url = url  # already redacted
        self.timeout = timeout
        total = timeout.total
        self._deadline_binds = deadline is not None and (total is None or deadline < total)
        if self._deadline_binds:
            total = deadline
        self.total = total
        self.http_logger = _current_http_logger.get()
        loop = current_event_loop()
        if loop is None:
            raise RuntimeError("HttpClient must be used inside a flowno_core task (EventLoop.run_until_complete)")
        self._loop = loop
        self._end = None if total is None else loop.time() + total

    def limit(self, phase: str) -> tuple[float | None, str]:
        """The time allowed for the next wait in ``phase`` and the name of the limit that binds."""
        own = self.timeout.connect if phase == "connect" else self.timeout.read
        end = self._end
        if end is None:
            return own, phase
        left = end - self._loop.time()
        if own is None or left < own:
            return left, "total"
        return own, phase

    def timeout_error(self, which: str) -> HttpTimeoutError:
        seconds = {"connect": self.timeout.connect, "total": self.total}.get(which, self.timeout.read)
        error = HttpTimeoutError(self.method, self.url, which, seconds or 0.0)
        if which == "total" and self._deadline_binds:
            error.add_note("this is the client's max_request_time for requests that read the whole body "
                           "(HttpClient(max_request_time=...), or stream the response instead)")
        return error

    async def timed(self, awaitable: Awaitable[R], phase: str) -> R:
        """Await ``awaitable`` within the phase's limit; raise ``HttpTimeoutError`` when it expires."""
        seconds, which = self.limit(phase)
        if seconds is None:
            return await awaitable
        if seconds <= 0:
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()
            raise self.timeout_error(which)
        with move_on_after(seconds):
            return await awaitable
        raise self.timeout_error(which)

    def conn_id(self, conn: "ClientConnection") -> str:
        """The HTTP logger's id for ``conn`` (only meaningful while ``http_logger`` is set)."""
        logger = self.http_logger
        return (logger.get_conn_id(conn.sock) if logger is not None else None) or "conn-?"

    def protocol_error(self, detail: str) -> HttpProtocolError:
        return HttpProtocolError(self.method, self.url, detail)

    def connection_error(self, detail: str) -> HttpConnectionError:
        return HttpConnectionError(self.method, self.url, detail)


def _describe_os_error(error: OSError, target: Target, route: ProxyRoute | None = None) -> str:
    if route is not None and not isinstance(error, ssl.SSLError):
        where = f"proxy {route.shown}"
        if isinstance(error, _socket.gaierror):
            return f"cannot resolve the host of {where} ({error.strerror or error})"
        if isinstance(error, ConnectionRefusedError):
            return f"connection refused by {where}"
        return f"cannot connect to {where} ({error.strerror or error})"
    where = f"{target.host}:{target.port}"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake with {where} failed ({error})"
    if isinstance(error, _socket.gaierror):
        return f"cannot resolve host {target.host!r} ({error.strerror or error})"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {where}"
    return f"cannot connect to {where} ({error.strerror or error})"


class ClientConnection:
    """A socket and its h11 client state machine, for one origin.

    ``origin`` is its pool key (the origin, or the proxy it goes through). ``reused`` tells whether it
    already served a request (a keep-alive connection from the pool); ``received`` whether the current
    response sent any byte (a stale pooled connection fails before); ``body_bytes`` counts the
    current response's body bytes as sent (for ``IncompleteBodyError``).
    """

    __slots__ = ("sock", "origin", "h11", "reused", "received", "response", "body_bytes", "max_head", "_fed")

    def __init__(self, sock: SocketHandle, origin: tuple[object, ...], max_head: int) -> None:
        self.sock = sock
        self.origin = origin
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head)
        self.reused = False
        self.received = False
        self.response: h11.Response | None = None
        self.body_bytes = 0
        self.max_head = max_head
        self._fed = 0  # bytes read for the current response, until its head is parsed

    @classmethod
    async def open(
        cls, target: Target, ctx: RequestContext, ssl_context: ssl.SSLContext | None, max_head: int,
        route: ProxyRoute | None = None,
    ) -> "ClientConnection":
        """Resolve, connect (through ``route``'s proxy if given) and do TLS, within the connect timeout."""
        if route is None:
            opening = _connect(target, ssl_context)
            key: tuple[object, ...] = target.origin
        else:
            opening = _connect_via(route, target, ssl_context, ctx, max_head)
            key = route.pool_key(target)
        try:
            sock = await ctx.timed(opening, "connect")
        except HttpError:
            raise
        except OSError as error:
            raise ctx.connection_error(_describe_os_error(error, target, route)) from error
        return cls(sock, key, max_head)

    async def send_request(self, request: h11.Request, body: bytes | None, ctx: RequestContext) -> None:
        """Send the request head, the body and the end of message."""
        self.received = False
        self.response = None
        self.body_bytes = 0
        self._fed = 0
        conn = self.h11
        data = conn.send(request) or b""
        if body:
            data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        try:
            await ctx.timed(self.sock.sendAll(data), "write")
        except HttpError:
            raise
        except OSError as error:
            raise ctx.connection_error(f"sending the request failed ({error.strerror or error})") from error

    async def next_event(self, ctx: RequestContext) -> Any:
        """The next h11 event of the response, reading from the socket as needed."""
        conn = self.h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as error:
                raise self._malformed(ctx, error) from None
            if event is not h11.NEED_DATA:
                kind = type(event)
                if kind is h11.Data:
                    self.body_bytes += len(event.data)  # type: ignore[union-attr]
                elif kind is h11.Response:
                    self.response = event  # type: ignore[assignment]
                    if self._fed > self.max_head and _head_size(event) > self.max_head:  # type: ignore[arg-type]
                        raise self._too_large(ctx, "response head")
                return event
            try:
                data = await ctx.timed(self.sock.recv(READ_SIZE), "read")
            except HttpError:
                raise
            except OSError as error:
                if conn.their_state is h11.SEND_BODY:
                    raise self._incomplete(ctx, "reset") from error
                raise ctx.connection_error(f"reading the response failed ({error.strerror or error})") from error
            if data:
                self.received = True
                self._fed += len(data)
            elif conn.their_state is h11.SEND_BODY:
                if self._framing()[0] != "close":
                    raise self._incomplete(ctx, "closed")
            elif conn.their_state is h11.SEND_RESPONSE:
                if not self.received:
                    raise ctx.connection_error("the server closed the connection without sending a response")
                raise ctx.protocol_error("the server closed the connection in the middle of the response head")
            conn.receive_data(data)

    def _framing(self) -> tuple[str, int | None]:
        """How the current response body is delimited: ("chunked"|"length"|"close", Content-Length)."""
        length = None
        for name, value in self.response.headers if self.response is not None else ():
            if name == b"transfer-encoding" and value.lower().endswith(b"chunked"):
                return "chunked", None
            if name == b"content-length":
                length = int(value)
        return ("length", length) if length is not None else ("close", None)

    def _incomplete(self, ctx: RequestContext, how: str) -> HttpError:
        framing, length = self._framing()
        return IncompleteBodyError(ctx.method, ctx.url, self.body_bytes, length, how, chunked=framing == "chunked")

    def _malformed(self, ctx: RequestContext, error: h11.RemoteProtocolError) -> HttpError:
        if error.error_status_hint == 431 or "buffer too long" in str(error):
            return self._too_large(ctx, "response head" if self.h11.their_state is h11.SEND_RESPONSE
                                   else "chunk header or trailer")
        return ctx.protocol_error(f"malformed response ({error})")

    def _too_large(self, ctx: RequestContext, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(ctx.method, ctx.url, f"the {what} is larger than max_header_size "
                                f"({self.max_head} bytes)", self.max_head)

    @property
    def reusable(self) -> bool:
        """True when both sides finished a message and the connection may carry another."""
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE and not self.sock.closed

    def start_next_cycle(self) -> None:
        self.h11.start_next_cycle()
        self.reused = True

    def looks_alive(self) -> bool:
        """Cheap check for an idle pooled connection: the server must not have closed or spoken."""
        if self.sock.closed:
            return False
        raw = self.sock.socket
        if isinstance(raw, ssl.SSLSocket) and raw.pending():
            return False
        try:
            readable, _, _ = select.select([raw], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.sock.close()


def _head_size(event: h11.Response) -> int:
    """The size of a response head as sent (h11 enforces a limit only on heads it has to wait for)."""
    size = len(event.reason) + 17  # "HTTP/1.1 200 " ... CRLF, and the blank line
    for name, value in event.headers:
        size += len(name) + len(value) + 4
    return size


class QuietSocket(_socket.socket):
    """A socket whose ``repr`` makes no system call.

    The loop's selector formats ``repr(socket)`` into a KeyError message each time it looks up a
    socket that is not registered (the first wait on it, and its close); the stdlib repr calls
    getsockname and getpeername, which costs several percent of a short request.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<socket fd={self.fileno()}>"


async def _connect_via(route: ProxyRoute, target: Target, ssl_context: ssl.SSLContext | None,
                      ctx: RequestContext, max_head: int) -> SocketHandle:
    """Connect to the proxy; for an https target, tunnel through it and do TLS with the origin."""
    sock = await _connect(route.proxy, None)
    if not target.is_tls:
        return sock
    try:
        await open_tunnel(sock, route, target, ssl_context or ssl.create_default_context(), ctx.method, ctx.url,
                          max_head)
    except BaseException:
        sock.close()
        raise
    return sock


async def _connect(target: Target, ssl_context: ssl.SSLContext | None) -> SocketHandle:
    if target.is_ip_literal:
        family = _socket.AF_INET6 if ":" in target.host else _socket.AF_INET
        addresses: list[tuple[Any, Any]] = [(family, (target.host, target.port))]
    else:
        infos = await to_thread(_socket.getaddrinfo, target.host, target.port, 0, _socket.SOCK_STREAM)
        addresses = [(info[0], info[4]) for info in infos]
    last_error: OSError | None = None
    for family, address in addresses:
        raw = QuietSocket(family, _socket.SOCK_STREAM)
        if target.is_tls:
            sock: SocketHandle = TLSSocketHandle(raw, ssl_context or ssl.create_default_context(), target.host)
        else:
            sock = SocketHandle(raw)
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            await sock.connect(address)
        except OSError as error:
            sock.close()
            last_error = error
            if isinstance(error, ssl.SSLError):
                break  # the peer was reached; another address would not fix the certificate
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert last_error is not None
    raise last_error
