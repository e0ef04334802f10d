"""HttpServer: a small HTTP/1.1 server on h11 for flowno_core's loop (tests, fakes, local tools).

Theory of operation: ``serve`` accepts connections and spawns one task per connection, which a
``ServerConnection`` (server_connection.py) runs: it reads each request within the ``ServerLimits``
(limits.py), calls ``handle_request`` (routing by method and path, ``{name}`` segments captured;
HEAD served by the GET route) and writes the answer. The accept loop never dies of a full process:
at ``max_connections`` it stops accepting (new connections wait in the listen backlog) and closes
idle keep-alive connections; when the process runs out of descriptors (EMFILE and kin) it logs
once, closes idle keep-alive connections, sleeps ``ACCEPT_RETRY_DELAY`` seconds of loop time and
tries again, until accepting works. A connection the peer dropped before it was accepted is skipped.

``stop`` is graceful: it closes the listening socket (new connections are refused), closes
connections idle between requests, lets requests in flight finish for ``grace`` seconds (their
answers carry ``Connection: close``), then cancels what is left. Without routes, or when a subclass
overrides flowno's ``_generate_response(request_line)``, every request gets that 200 text/plain
answer as in flowno.
"""

from __future__ import annotations

import errno
import logging
import socket as _socket
from collections.abc import Callable, Iterable
from typing import Any

from .._kernel.loop import current_event_loop
from .._kernel.task import TaskHandle
from .._primitives import sleep, spawn
from .._sockets import SocketHandle
from .._sync import Event
from .._timeouts import move_on_after
from .connection import QuietSocket
from .limits import ServerLimits
from .routing import Handler, Router
from .server_connection import ServerConnection
from .server_messages import ServerRequest, ServerResponse

logger = logging.getLogger(__name__)

#: seconds (loop time) between two accept attempts while the process is out of descriptors
ACCEPT_RETRY_DELAY = 0.1
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_PEER_GAVE_UP = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.ECONNRESET, errno.EPERM})


class HttpServer:
    """A small HTTP/1.1 server: routes by method and path, streams responses, stops gracefully.

    Args:
        host: the address to bind (``"127.0.0.1"``, ``"0.0.0.0"``, ``"::1"``).
        port: the port; ``0`` picks a free one (read it from ``.port`` after ``bind()``).
        limits: what the server accepts and how long it waits (``ServerLimits``; safe defaults).
        backlog: connections the OS queues before ``accept``.
        **overrides: any ``ServerLimits`` field by name, applied over ``limits``
            (``HttpServer(max_body_size=10_000_000, idle_timeout=5)``).

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
        limits: ServerLimits | None = None,
        backlog: int = 128,
        **overrides: float,
    ) -> None:
        self.host = host
        self.port = port
        base = limits if limits is not None else ServerLimits()
        self.limits = base.replace(**overrides) if overrides else base
        self.backlog = backlog
        self._routes = Router()
        self._listener: SocketHandle | None = None
        self._connections: dict[SocketHandle, TaskHandle[None]] = {}
        self._idle: dict[SocketHandle, int] = {}  # connections waiting for a request -> requests served
        self._stopping = False
        self._drained: Event | None = None
        self._slot_freed: Event | None = None
        self._serve_task: TaskHandle[None] | None = None
        self._clock: Any = None  # the serving loop's clock, for the connections' deadlines

    @property
    def connection_count(self) -> int:
        """Connections open now (served, being read, or idle between requests)."""
        return len(self._connections)

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
        loop = current_event_loop()
        self._clock = loop.clock if loop is not None else None
        failing: OSError | None = None  # the error that stopped accept(), until it works again
        crowded = False  # reached max_connections once (logged the first time only)
        try:
            while not self._stopping:
                if len(self._connections) >= self.limits.max_connections:
                    if not crowded:
                        crowded = True
                        logger.warning("%s has max_connections=%d connections open; new connections wait "
                                       "in the listen backlog (logged once)", self.url, self.limits.max_connections)
                    await self._wait_for_a_free_slot()
                    continue
                try:
                    accepted, address = await listener.accept()
                except OSError as error:
                    if self._stopping:
                        break
                    if error.errno in _PEER_GAVE_UP:
                        continue
                    if error.errno not in _OUT_OF_RESOURCES:
                        raise
                    if failing is None:
                        failing = error
                        logger.warning("%s cannot accept connections (%s) with %d open; retrying every %gs",
                                       self.url, error, len(self._connections), ACCEPT_RETRY_DELAY)
                    self._close_idle(kept_alive_only=True)
                    await sleep(ACCEPT_RETRY_DELAY)
                    continue
                if failing is not None:
                    logger.warning("%s accepts connections again (after %s)", self.url, failing.strerror)
                    failing = None
                client = SocketHandle(QuietSocket(fileno=accepted.socket.detach()))
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

    async def _wait_for_a_free_slot(self) -> None:
        """At ``max_connections``: close idle keep-alive connections, else wait for one to end."""
        self._close_idle(kept_alive_only=True)
        if len(self._connections) < self.limits.max_connections:
            return
        self._slot_freed = Event()
        try:
            await self._slot_freed.wait()
        finally:
            self._slot_freed = None

    def _close_idle(self, kept_alive_only: bool = False) -> None:
        """Close connections waiting for a request (with ``kept_alive_only``, only those that
        already served one: a fresh connection's request may be on its way)."""
        for sock, served in list(self._idle.items()):
            if served or not kept_alive_only:
                sock.close()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, close idle connections, give requests in flight ``grace`` seconds, then
        cancel them. Returns when every connection is closed."""
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
        if self._slot_freed is not None:
            self._slot_freed.set_nowait()
        await self._shutdown_connections(grace)
        task, self._serve_task = self._serve_task, None
        if task is not None:
            await task.cancel()

    async def _shutdown_connections(self, grace: float) -> None:
        self._close_idle()
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
            if self._slot_freed is not None:
                self._slot_freed.set_nowait()

    async def handle_client(self, client_sock: SocketHandle, address: Any = None) -> None:
        """Serve every request of one connection, then close it (flowno's per-connection entry)."""
        clock = self._clock
        if clock is None:
            loop = current_event_loop()
            assert loop is not None, "handle_client runs inside a flowno_core task"
            clock = loop.clock
        await ServerConnection(self, client_sock, address, clock).serve()

    async def handle_request(self, request: ServerRequest) -> Any:
        """Route ``request`` to its handler (override for custom dispatch); 404/405 when no route.

        A HEAD request goes to the GET handler of its path unless a HEAD route exists."""
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


__all__ = ["HttpServer"]
