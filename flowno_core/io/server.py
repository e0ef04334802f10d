"""HttpServer: a small HTTP/1.1 server on h11 for flowno_core's loop (tests, fakes, local tools).

Theory of operation: ``serve`` accepts connections and spawns one ``handle_client`` task each. A
connection task loops over requests (keep-alive): it reads a request with h11 within
``request_timeout`` (head *and* body, so a slow-loris client is cut off) and the size limits
(``max_header_size`` and ``max_body_size`` -> 413, malformed -> 400, too slow -> 408), calls
the route's handler, and writes the answer with h11 (Content-Length, or chunked for a
``StreamingResponse``); each write must finish within ``write_timeout``. While a streamed body is
sent, a watcher task reads the socket, so a client that disconnects is noticed at once and the body
iterator is closed (its ``finally`` runs). Every connection's socket is closed in a ``finally``.

``stop`` is graceful: it closes the listening socket, closes connections idle between requests,
lets requests in flight finish for ``grace`` seconds, then cancels what is left. Routing is by
method and path (``{name}`` segments capture path parameters); without routes, or when a subclass
overrides flowno's ``_generate_response(request_line)``, every request gets that 200 text/plain
answer as in flowno.
"""

from __future__ import annotations

import json
import logging
import socket as _socket
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import h11

from .._kernel.task import TaskHandle
from .._primitives import spawn
from .._sockets import SocketHandle
from .connection import QuietSocket
from .._sync import Event
from .._timeouts import move_on_after
from ..errors import TaskCancelled
from .errors import HTTPException
from .headers import Headers
from .routing import Handler, Router
from .server_messages import ServerRequest, ServerResponse, StreamingResponse, coerce_response

logger = logging.getLogger(__name__)

_READ_SIZE = 65536


class _Reject(Exception):
    """Internal: answer with ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Gone(Exception):
    """Internal: the client went away or stopped reading; just close."""


class HttpServer:
    """A small HTTP/1.1 server: routes by method and path, streams responses, stops gracefully.

    Args:
        host: the address to bind (``"127.0.0.1"``, ``"0.0.0.0"``, ``"::1"``).
        port: the port; ``0`` picks a free one (read it from ``.port`` after ``bind()``).
        max_header_size: the largest request head accepted (bigger: 413).
        max_body_size: the largest request body accepted (bigger: 413).
        request_timeout: seconds allowed to receive one whole request, and to wait idle between
            keep-alive requests (too slow: 408, then close).
        write_timeout: seconds one write may wait for a client that does not read.

    Example::

        from flowno_core import EventLoop
        from flowno_core.io import HttpClient, HttpServer

        server = HttpServer("127.0.0.1", 0)

        @server.route("/hello")
        async def hello(request):
            return f"hello {request.arg('name', 'world')}"

        async def main():
            async with server:                      # binds, serves in the background, stops at exit
                response = await HttpClient().get(server.url + "/hello?name=flowno")
                print(response.body)                # b'hello flowno'

        EventLoop().run_until_complete(main(), join=True)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_header_size: int = 16 * 1024,
        max_body_size: int = 1024 * 1024,
        request_timeout: float = 30.0,
        write_timeout: float = 30.0,
        backlog: int = 128,
    ) -> None:
        self.host = host
        self.port = port
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self.request_timeout = request_timeout
        self.write_timeout = write_timeout
        self.backlog = backlog
        self._routes = Router()
        self._listener: SocketHandle | None = None
        self._connections: dict[SocketHandle, TaskHandle[None]] = {}
        self._idle: set[SocketHandle] = set()
        self._stopping = False
        self._drained: Event | None = None
        self._serve_task: TaskHandle[None] | None = None

    # -- routing -----------------------------------------------------------------------------------
    def add_route(self, method: str | Iterable[str], path: str, handler: Handler) -> None:
        """Send ``method`` requests for ``path`` to ``handler`` (``{name}`` segments match one
        path segment and land in ``request.path_params``).

        Example::

            server.add_route("POST", "/v1/chat/completions", chat_handler)
        """
        methods = [method] if isinstance(method, str) else list(method)
        for name in methods:
            self._routes.add(name, path, handler)

    def route(self, path: str, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
        """Decorator form of ``add_route``.

        Example::

            @server.route("/items/{item_id}", methods=["GET", "DELETE"])
            async def item(request): ...
        """

        def register(handler: Handler) -> Handler:
            self.add_route(list(methods), path, handler)
            return handler

        return register

    # -- lifecycle -----------------------------------------------------------------------------------
    def bind(self) -> int:
        """Create, bind and listen on the socket now; returns the real port (useful with port 0)."""
        if self._listener is not None:
            return self.port
        family = _socket.AF_INET6 if ":" in self.host else _socket.AF_INET
        listener = SocketHandle(QuietSocket(family, _socket.SOCK_STREAM))
        try:
            listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(self.backlog)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._stopping = False
        return self.port

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def serve(self) -> None:
        """Accept connections until ``stop()`` (binds first if needed); one task per connection."""
        listener = self._listener
        if listener is None:
            self.bind()
            listener = self._listener
        assert listener is not None
        try:
            while not self._stopping:
                try:
                    accepted, address = await listener.accept()
                    client = SocketHandle(QuietSocket(fileno=accepted.socket.detach()))
                except OSError:
                    if self._stopping:
                        break
                    raise
                if self._stopping:
                    client.close()
                    break
                handle = await spawn(self._run_connection(client, address))
                if not handle.is_finished:
                    self._connections[client] = handle
        finally:
            listener.close()
            self._listener = None
            if not self._stopping:  # serve() itself was cancelled or failed: take the connections down
                self._stopping = True
                await self._shutdown_connections(0.0)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, close idle connections, give requests in flight ``grace`` seconds, then
        cancel them. Returns when every connection is closed."""
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
        await self._shutdown_connections(grace)
        task, self._serve_task = self._serve_task, None
        if task is not None:
            await task.cancel()

    async def _shutdown_connections(self, grace: float) -> None:
        for sock in list(self._idle):
            sock.close()
        if self._connections:
            self._drained = Event()
            with move_on_after(grace):
                await self._drained.wait()
            for handle in list(self._connections.values()):
                await handle.cancel()
            self._drained = None

    async def __aenter__(self) -> "HttpServer":
        self.bind()
        self._serve_task = await spawn(self.serve())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- one connection --------------------------------------------------------------------------
    async def _run_connection(self, client: SocketHandle, address: Any) -> None:
        try:
            await self.handle_client(client, address)
        finally:
            self._connections.pop(client, None)
            if self._drained is not None and not self._connections:
                self._drained.set_nowait()

    async def handle_client(self, client_sock: SocketHandle, address: Any = None) -> None:
        """Serve every request of one connection, then close it (flowno's per-connection entry)."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_header_size)
        try:
            while not self._stopping or conn.their_state is not h11.IDLE:
                request = await self._read_request(conn, client_sock, address)
                if request is None:
                    break
                response = await self._respond(request)
                if not await self._send_response(conn, client_sock, request, response):
                    break
                conn.start_next_cycle()
        except _Reject as reject:
            await self._send_error(conn, client_sock, reject.status, reject.message)
        except (_Gone, OSError):
            pass
        except (h11.LocalProtocolError, ValueError, TypeError) as error:  # a response h11 cannot send
            logger.error("cannot send the handler's response: %s", error)
            await self._send_error(conn, client_sock, 500, "internal server error")
        finally:
            self._idle.discard(client_sock)
            client_sock.close()

    async def _read_request(self, conn: h11.Connection, sock: SocketHandle, address: Any) -> ServerRequest | None:
        with move_on_after(self.request_timeout):
            return await self._read_request_now(conn, sock, address)
        if conn.their_state is h11.IDLE and not conn.trailing_data[0]:
            raise _Gone()  # idle keep-alive connection: close quietly
        raise _Reject(408, "the request took too long to arrive")

    async def _read_request_now(self, conn: h11.Connection, sock: SocketHandle, address: Any) -> ServerRequest | None:
        event = await self._next_event(conn, sock)
        if type(event) is h11.ConnectionClosed:
            return None
        if type(event) is not h11.Request:  # pragma: no cover - h11 yields Request first
            raise _Reject(400, "expected a request")
        head_size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
        if head_size > self.max_header_size:  # h11 only bounds a head that arrives in pieces
            raise _Reject(413, f"the request head is larger than {self.max_header_size} bytes")
        headers = Headers._from_wire(event.headers)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_size:
            raise _Reject(413, f"the body is larger than {self.max_body_size} bytes")
        if conn.they_are_waiting_for_100_continue:
            await self._write(sock, conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        while True:
            part = await self._next_event(conn, sock)
            if type(part) is h11.Data:
                body += part.data
                if len(body) > self.max_body_size:
                    raise _Reject(413, f"the body is larger than {self.max_body_size} bytes")
            elif type(part) is h11.EndOfMessage:
                break
            else:  # PAUSED: an Upgrade/CONNECT request, which this server does not speak
                raise _Reject(501, "protocol upgrades and CONNECT are not supported")
        target = event.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        return ServerRequest(
            method=event.method.decode("ascii"),
            target=target,
            path=unquote(raw_path),
            query_string=query,
            headers=headers,
            body=bytes(body),
            client=address,
            http_version=event.http_version.decode("ascii"),
        )

    async def _next_event(self, conn: h11.Connection, sock: SocketHandle) -> Any:
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as error:
                status = 413 if error.error_status_hint == 431 else error.error_status_hint  # oversized -> 413
                raise _Reject(status, f"bad request: {error}") from None
            if event is not h11.NEED_DATA:
                return event
            idle = conn.their_state is h11.IDLE and not conn.trailing_data[0]
            if idle:
                if self._stopping:
                    raise _Gone()
                self._idle.add(sock)
            try:
                data = await sock.recv(_READ_SIZE)
            finally:
                if idle:
                    self._idle.discard(sock)
            conn.receive_data(data)

    async def _respond(self, request: ServerRequest) -> ServerResponse | StreamingResponse:
        try:
            return coerce_response(await self.handle_request(request))
        except HTTPException as error:
            message = error.message if isinstance(error.message, bytes) else str(error.message).encode()
            return ServerResponse(error.status_code or 500, message, None, "text/plain; charset=utf-8")
        except TaskCancelled:
            raise
        except json.JSONDecodeError as error:  # request.json() on a body that is not JSON
            return ServerResponse(400, f"the request body is not JSON ({error})".encode(), None,
                                  "text/plain; charset=utf-8")
        except Exception:
            logger.exception("handler for %s %s failed", request.method, request.path)
            return ServerResponse(500, b"internal server error", None, "text/plain; charset=utf-8")

    async def handle_request(self, request: ServerRequest) -> Any:
        """Route ``request`` to its handler (override for custom dispatch); 404/405 when no route."""
        if not self._routes or type(self)._generate_response is not HttpServer._generate_response:
            return ServerResponse(200, await self._generate_response(request.request_line), None, "text/plain")
        handler, params, allowed = self._routes.find(request.method, request.path)
        if handler is not None:
            request.path_params = params
            return await handler(request)
        if allowed:
            return ServerResponse(405, b"method not allowed", {"Allow": ", ".join(allowed)},
                                  "text/plain; charset=utf-8")
        return ServerResponse(404, b"not found", None, "text/plain; charset=utf-8")

    async def _generate_response(self, request_data: str) -> bytes:
        """flowno's hook: the body of the 200 text/plain answer used when no route is registered."""
        return f"Hello, world!\nRequest: {request_data}".encode()

    # -- writing ---------------------------------------------------------------------------------
    def _head(self, response: ServerResponse | StreamingResponse, headers: Headers, length: int | None) -> h11.Response:
        if length is not None:
            headers.set("Content-Length", str(length))
        if "server" not in headers:
            headers.set("Server", "flowno_core")
        if self._stopping:
            headers.set("Connection", "close")
        try:
            reason = HTTPStatus(response.status).phrase.encode("ascii")
        except ValueError:
            reason = b""
        return h11.Response(status_code=response.status, headers=headers.items(), reason=reason)

    async def _write(self, sock: SocketHandle, data: bytes | None) -> None:
        if not data:
            return
        with move_on_after(self.write_timeout):
            await sock.sendAll(data)
            return
        raise _Gone()

    async def _send_response(self, conn: h11.Connection, sock: SocketHandle, request: ServerRequest,
                             response: ServerResponse | StreamingResponse) -> bool:
        headers = response.header_block()
        headers.delete("transfer-encoding")
        no_body = response.status < 200 or response.status in (204, 304) or request.method == "HEAD"
        if isinstance(response, StreamingResponse):
            headers.delete("content-length")
            if no_body:
                await _close_iterable(response.body)
            else:
                await self._write(sock, conn.send(self._head(response, headers, None)))
                await self._stream_body(conn, sock, response.body)
                return conn.our_state is h11.DONE and conn.their_state is h11.DONE
            body = b""
        else:
            body = b"" if no_body else response.body_bytes()
        length = None if response.status < 200 or response.status in (204, 304) else len(body)
        data = conn.send(self._head(response, headers, length)) or b""
        if body:
            data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        await self._write(sock, data)
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _stream_body(self, conn: h11.Connection, sock: SocketHandle, body: Any) -> None:
        finished = Event()
        outcome: list[BaseException] = []

        async def pump() -> None:
            iterator = body.__aiter__()
            try:
                async for chunk in iterator:
                    data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
                    if data:
                        await self._write(sock, conn.send(h11.Data(data=data)))
                await self._write(sock, conn.send(h11.EndOfMessage()))
            except TaskCancelled:
                raise
            except Exception as error:
                outcome.append(error)
            finally:
                await _close_iterable(iterator)
                finished.set_nowait()

        async def watch() -> None:
            while True:
                data = await sock.recv(_READ_SIZE)
                if not data:
                    outcome.append(_Gone())
                    finished.set_nowait()
                    return
                conn.receive_data(data)  # a pipelined next request: h11 keeps it for later
                if len(conn.trailing_data[0]) > self.max_header_size + self.max_body_size:
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
            if isinstance(error, _Gone | OSError):
                raise _Gone() from None
            logger.error("streaming response body failed", exc_info=error)
            raise _Gone()

    async def _send_error(self, conn: h11.Connection, sock: SocketHandle, status: int, message: str) -> None:
        body = message.encode("utf-8", errors="replace")
        response = ServerResponse(status, body, {"Connection": "close"}, "text/plain; charset=utf-8")
        try:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE) and conn.their_state is not h11.IDLE:
                head = conn.send(self._head(response, response.header_block(), len(body))) or b""
                data = head + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
            elif conn.our_state is h11.IDLE:
                data = _plain_error(status, body)  # no request line yet (slow client): h11 cannot answer
            else:
                return  # a response already started: closing is all we can do
            await self._write(sock, data)
        except (h11.LocalProtocolError, OSError, _Gone):
            pass


def _plain_error(status: int, body: bytes) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nServer: flowno_core\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _close_iterable(iterable: Any) -> None:
    aclose = getattr(iterable, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except TaskCancelled:
            raise
        except Exception:
            logger.debug("closing a response body iterator failed", exc_info=True)


__all__ = ["HttpServer"]
