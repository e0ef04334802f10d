"""One connection of an HttpServer: read each request within the limits, answer it, repeat.

Theory of operation: a ``ServerConnection`` owns one accepted socket and one ``h11.Connection``
and loops over requests while the connection may be kept alive. Reading a request has three
deadlines, all in the loop's clock and armed only while the task actually waits:

* before the first byte of a request the connection is *idle*: a fresh connection waits
  ``header_timeout``, a kept-alive one ``idle_timeout``; then it is closed silently (nothing was
  asked, so nothing is answered). Idle connections are listed in ``server._idle`` (socket ->
  requests served), so ``stop()`` and a server at ``max_connections`` can close them.
* once a request has started, its head must be complete within ``header_timeout`` and the whole
  request within ``request_timeout``, else 408. "Started" is read from the clock the first time
  the request has to wait for more bytes (right after its first bytes arrived), so a request that
  arrives in one read costs no clock reading and no timer.
* the head is then checked before any body is read: HTTP major version 1 (else 505; this is how an
  HTTP/2 preface is answered), head size and field count (431), framing that cannot be smuggled
  (400 for Transfer-Encoding beside Content-Length, Content-Length repeated, or Transfer-Encoding
  in HTTP/1.0; RFC 9112 section 6.1), announced body size (413).

A refused request is answered (when h11 still lets us) with ``Connection: close`` and the
connection is closed, so a request the server misread can never poison the next one. The answer to
a HEAD request has the headers of the GET answer (its Content-Length too) and no body. A streamed
body is pumped by one task while another watches the socket, so a client that goes away is noticed
at once and the body iterator is closed (its ``finally`` runs). The socket is closed in a
``finally`` whatever happens.
"""

from __future__ import annotations

import json
import logging
import re
import socket as _socket
from collections.abc import AsyncIterable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import unquote

import h11

from .._primitives import spawn
from .._sockets import SocketHandle
from .._sync import Event
from .._timeouts import move_on_after
from ..errors import TaskCancelled
from .errors import HTTPException
from .headers import Headers
from .limits import ServerLimits
from .server_messages import ServerRequest, ServerResponse, StreamingResponse, coerce_response



class Server(Protocol):
    """What a connection needs of its server (``HttpServer``)."""

    limits: ServerLimits
    _stopping: bool
    _idle: dict[SocketHandle, int]

    async def handle_request(self, request: ServerRequest) -> Any: ...

logger = logging.getLogger(__name__)

_READ_SIZE = 65536
#: seconds (loop time) a refused client may go on sending after its error answer (see _linger)
LINGER_SECONDS = 2.0
_CONTENT_LENGTH_FIELD = re.compile(rb"^content-length[ \t]*:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}  # 200 -> b"OK"


class Reject(Exception):
    """Answer with ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Gone(Exception):
    """The client went away, stopped reading or never spoke: just close."""


class ServerConnection:
    """Serves the requests of one accepted connection for ``server`` (see the module docstring)."""

    __slots__ = ("server", "sock", "address", "limits", "conn", "served", "started", "method", "head_parts", "clock")

    def __init__(self, server: Server, sock: SocketHandle, address: Any, clock: Any) -> None:
        self.server = server
        self.sock = sock
        self.address = address
        self.limits = server.limits
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_size)
        self.served = 0
        self.clock = clock  # the loop's clock: .now()
        self.started: float | None = None  # when the current request began (set when first needed)
        self.method = b""
        self.head_parts: list[bytes] = []  # raw bytes of the current request head as received

    async def serve(self) -> None:
        conn, server = self.conn, self.server
        try:
            while True:
                request = await self.read_request()
                if request is None:
                    break
                response = await respond(server, request)
                self.served += 1
                if not await self.send_response(request, response):
                    break
                conn.start_next_cycle()
                if server._stopping:
                    break
                self.started = None
                self.method = b""
                leftover = conn.trailing_data[0]
                self.head_parts = [leftover] if leftover else []
        except Reject as reject:
            await self.send_error(reject.status, reject.message)
            await self._linger()
        except h11.RemoteProtocolError as error:  # only conn.next_event() raises it: bad input
            await self.send_error(error.error_status_hint, f"bad request: {error}")
            await self._linger()
        except (Gone, OSError):
            pass
        except (h11.LocalProtocolError, ValueError, TypeError) as error:  # a response h11 cannot send
            logger.error("cannot send the handler's response: %s", error)
            await self.send_error(500, "internal server error")
        finally:
            self.sock.close()

    # -- reading -----------------------------------------------------------------------------------
    async def read_request(self) -> ServerRequest | None:
        """The next request, or None when the client closed the connection between requests."""
        conn = self.conn
        event = conn.next_event()
        if event is h11.NEED_DATA:
            event = await self._read_head()
        if type(event) is h11.ConnectionClosed:
            return None
        if type(event) is not h11.Request:  # pragma: no cover - h11 yields a Request first
            raise Reject(400, "expected a request")
        self.method = event.method
        headers = self._check_head(event)
        if conn.they_are_waiting_for_100_continue:
            await self._write(conn.send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")))
        part = conn.next_event()
        body = b"" if type(part) is h11.EndOfMessage else await self._read_body(part)
        target = event.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        return ServerRequest(
            method=event.method.decode("ascii"),
            target=target,
            path=unquote(raw_path),
            query_string=query,
            headers=headers,
            body=body,
            client=self.address,
            http_version=event.http_version.decode("ascii"),
        )

    def _deadline(self, seconds: float) -> float:
        """Loop time ``seconds`` after the current request began (its first wait for more bytes,
        right after its first bytes arrived)."""
        if self.started is None:
            self.started = self.clock.now()
        return self.started + seconds

    async def _read_head(self) -> Any:
        conn, limits, sock = self.conn, self.limits, self.sock
        idle = conn.their_state is h11.IDLE and not self.head_parts  # nothing of this request yet
        while True:
            if idle:
                idle = False
                if self.server._stopping:
                    raise Gone()
                self.server._idle[sock] = self.served
                data = None
                try:
                    with move_on_after(limits.idle_timeout if self.served else limits.header_timeout):
                        data = await sock.recv(_READ_SIZE)
                finally:
                    self.server._idle.pop(sock, None)
                if data is None:
                    raise Gone()  # nothing was asked, so nothing is answered
            else:
                data = await self._recv_until(self._deadline(min(limits.header_timeout, limits.request_timeout)))
                if data is None:
                    raise Reject(408, f"the request head did not arrive within {limits.header_timeout:g}s")
            if data:
                self.head_parts.append(data)
            conn.receive_data(data)
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event

    def _check_head(self, event: h11.Request) -> Headers:
        limits = self.limits
        version = event.http_version
        if version != b"1.1" and not version.startswith(b"1."):
            raise Reject(505, f"HTTP/{version.decode('ascii', 'replace')} is not supported; this server speaks HTTP/1.1")
        fields = event.headers
        count = len(fields)
        if count > limits.max_header_count:
            raise Reject(431, f"the request has {count} header fields; the limit is {limits.max_header_count}")
        head_size = len(event.target)
        length: bytes | None = None
        chunked = False
        for name, value in fields:
            head_size += len(name) + len(value) + 4
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if head_size > limits.max_header_size:  # h11 only bounds a head that arrives in pieces
            raise Reject(431, f"the request head is larger than {limits.max_header_size} bytes")
        if chunked:
            if length is not None:
                raise Reject(400, "the request has both Transfer-Encoding and Content-Length (RFC 9112 section 6.1)")
            if version == b"1.0":
                raise Reject(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request")
        if length is not None:
            self._refuse_repeated_content_length()
            if int(length) > limits.max_body_size:
                raise Reject(413, f"the body is larger than {limits.max_body_size} bytes")
        return Headers._from_wire(fields)

    def _refuse_repeated_content_length(self) -> None:
        """h11 merges repeated equal Content-Length fields; a server must not guess which one framed
        the body (another hop may have read the other), so a repeated one is refused."""
        raw = b"".join(self.head_parts)
        end = _END_OF_HEAD.search(raw)
        values = _CONTENT_LENGTH_FIELD.findall(raw[: end.start() if end else len(raw)])
        if len(values) > 1 or any(b"," in value for value in values):
            raise Reject(400, "the request repeats Content-Length")

    async def _read_body(self, part: Any) -> bytes:
        limits, conn = self.limits, self.conn
        body = bytearray()
        while True:
            if type(part) is h11.Data:
                body += part.data
                if len(body) > limits.max_body_size:
                    raise Reject(413, f"the body is larger than {limits.max_body_size} bytes")
            elif type(part) is h11.EndOfMessage:
                return bytes(body)
            elif part is h11.NEED_DATA:
                data = await self._recv_until(self._deadline(limits.request_timeout))
                if data is None:
                    raise Reject(408, f"the request did not arrive within {limits.request_timeout:g}s")
                conn.receive_data(data)
            else:  # PAUSED: an Upgrade/CONNECT request, which this server does not speak
                raise Reject(501, "protocol upgrades and CONNECT are not supported")
            part = conn.next_event()

    async def _recv_until(self, deadline: float) -> bytes | None:
        """Bytes from the client (``b""`` at its end), or None if the loop time ``deadline`` passes first."""
        with move_on_after(deadline - self.clock.now()):
            return await self.sock.recv(_READ_SIZE)
        return None

    # -- writing -----------------------------------------------------------------------------------
    def _head(self, status: int, headers: Headers, length: int | None) -> h11.Response:
        if length is not None:
            headers.set("Content-Length", str(length))
        if "server" not in headers:
            headers.set("Server", "flowno_core")
        if self.server._stopping or self.served >= self.limits.max_keepalive_requests:
            headers.set("Connection", "close")
        return h11.Response(status_code=status, headers=headers.items(), reason=_REASONS.get(status, b""))

    async def _write(self, data: bytes | None) -> None:
        if not data:
            return
        with move_on_after(self.limits.write_timeout):
            await self.sock.sendAll(data)
            return
        raise Gone()

    async def send_response(self, request: ServerRequest, response: ServerResponse | StreamingResponse) -> bool:
        """Send ``response``; True if the connection can carry another request."""
        conn = self.conn
        headers = response.header_block()
        headers.delete("transfer-encoding")
        status = response.status
        bodiless = status < 200 or status in (204, 304)
        if isinstance(response, StreamingResponse):
            headers.delete("content-length")
            if bodiless or request.method == "HEAD":  # h11 frames the head as the GET answer's
                await close_iterable(response.body)
                await self._write((conn.send(self._head(status, headers, None)) or b"") + (conn.send(h11.EndOfMessage()) or b""))
            else:
                await self._write(conn.send(self._head(status, headers, None)))
                await self._stream_body(response.body)
            return conn.our_state is h11.DONE and conn.their_state is h11.DONE
        body = response.body_bytes()
        data = conn.send(self._head(status, headers, None if bodiless else len(body))) or b""
        if body and not bodiless and request.method != "HEAD":
            data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        await self._write(data)
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _stream_body(self, body: AsyncIterable[bytes | str]) -> None:
        conn, sock = self.conn, self.sock
        finished = Event()
        outcome: list[BaseException] = []

        async def pump() -> None:
            iterator = body.__aiter__()
            try:
                async for chunk in iterator:
                    data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
                    if data:
                        await self._write(conn.send(h11.Data(data=data)))
                await self._write(conn.send(h11.EndOfMessage()))
            except TaskCancelled:
                raise
            except Exception as error:
                outcome.append(error)
            finally:
                await close_iterable(iterator)
                finished.set_nowait()

        async def watch() -> None:
            limit = self.limits.max_header_size + self.limits.max_body_size
            while True:
                data = await sock.recv(_READ_SIZE)
                if not data:
                    outcome.append(Gone())
                    finished.set_nowait()
                    return
                conn.receive_data(data)  # a pipelined next request: h11 keeps it for later
                if len(conn.trailing_data[0]) > limit:
                    return  # the client floods us: stop listening, the pump decides the rest

        pump_task = await spawn(pump())
        watch_task = await spawn(watch())
        try:
            await finished.wait()
        finally:
            await watch_task.cancel()
            await pump_task.cancel()
        if outcome:
            error = outcome[0]
            if not isinstance(error, Gone | OSError):
                logger.error("streaming response body failed", exc_info=error)
            raise Gone()

    async def send_error(self, status: int, message: str) -> None:
        """Answer ``status`` with ``Connection: close`` if h11 still allows an answer."""
        conn = self.conn
        body = message.encode("utf-8", errors="replace")
        headers = Headers({"Content-Type": "text/plain; charset=utf-8", "Connection": "close"})
        try:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE) and conn.their_state is not h11.IDLE:
                data = conn.send(self._head(status, headers, len(body))) or b""
                if self.method != b"HEAD":
                    data += conn.send(h11.Data(data=body)) or b""
                data += conn.send(h11.EndOfMessage()) or b""
            elif conn.our_state is h11.IDLE:
                data = plain_error(status, body)  # no complete request line: h11 cannot answer
            else:
                return  # a response already started: closing is all we can do
            await self._write(data)
        except (h11.LocalProtocolError, OSError, Gone):
            pass


    async def _linger(self) -> None:
        """After an error answer, stop writing and drop what the client still sends, for at most
        ``LINGER_SECONDS``: closing with unread input makes the kernel reset the connection, and
        a client still sending (an upload refused with 413) would lose the answer to the reset."""
        deadline = self.clock.now() + LINGER_SECONDS
        try:
            self.sock.shutdown(_socket.SHUT_WR)
            while await self._recv_until(deadline):
                pass
        except OSError:
            pass


def plain_error(status: int, body: bytes) -> bytes:
    """A complete ``Connection: close`` error response written without h11."""
    phrase = _REASONS.get(status, b"Error").decode("ascii")
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nServer: flowno_core\r\n\r\n"
    )
    return head.encode("ascii") + body


async def respond(server: Server, request: ServerRequest) -> ServerResponse | StreamingResponse:
    """Run ``server.handle_request`` and turn its result, or its exception, into a response."""
    try:
        return coerce_response(await server.handle_request(request))
    except HTTPException as error:
        message = error.message if isinstance(error.message, bytes) else str(error.message).encode()
        return ServerResponse(error.status_code or 500, message, None, "text/plain; charset=utf-8")
    except TaskCancelled:
        raise
    except json.JSONDecodeError as error:  # request.json() on a body that is not JSON
        return ServerResponse(400, f"the request body is not JSON ({error})".encode(), None, "text/plain; charset=utf-8")
    except Exception:
        logger.exception("handler for %s %s failed", request.method, request.path)
        return ServerResponse(500, b"internal server error", None, "text/plain; charset=utf-8")


async def close_iterable(iterable: Any) -> None:
    """``aclose()`` an async iterator if it has one (a response body the server stops sending)."""
    aclose = getattr(iterable, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except TaskCancelled:
            raise
        except Exception:
            logger.debug("closing a response body iterator failed", exc_info=True)


__all__ = ["Gone", "Reject", "ServerConnection", "close_iterable", "plain_error", "respond"]
