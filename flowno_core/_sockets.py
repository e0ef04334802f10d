"""SocketHandle: non-blocking sockets driven by the loop's selector (TLS included).

Theory of operation: every socket is non-blocking. An operation is tried first; only when the OS
says "would block" does the task park on ``WaitIO`` for readability or writability, so a stream of
ready data costs no selector round trip. ``connect`` starts lazily: it returns an awaitable, and if
the caller does not await it (flowno's ``connect`` was synchronous) the first ``send``/``recv``
finishes the connection. Host names are resolved on a worker thread and the TLS handshake is
driven by readiness, so neither blocks the loop. A failed connect raises its OSError
(ConnectionRefusedError, ...) in the task that awaits it. ``close`` wakes any task waiting on the
socket, unregisters it and fires ``on_socket_close``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket as _socket
import ssl
from collections.abc import Generator
from types import TracebackType
from typing import Any

from ._kernel.instrument_events import (
    InstrumentationMetadata,
    ReadySocketInstrumentationMetadata,
    SocketConnectReadyMetadata,
    SocketConnectStartMetadata,
    SocketRecvDataMetadata,
    SocketSendDataMetadata,
    TLSHandshakeMetadata,
)
from ._kernel.instruments import active_loop_instrument
from ._kernel.current import current_task
from ._kernel.loop import current_event_loop
from ._kernel.threads import to_thread
from ._kernel.traps import wait_io_trap

_WOULD_BLOCK = (BlockingIOError, InterruptedError)
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY}


def _is_numeric_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class SocketHandle:
    """A socket whose blocking operations are awaitable on flowno_core's loop.

    Example::

        async def fetch():
            sock = socket()                       # flowno_core.socket()
            await sock.connect(("127.0.0.1", 8080))
            await sock.sendAll(b"ping")
            reply = await sock.recv(1024)
            sock.close()
    """

    def __init__(self, socket: _socket.socket) -> None:
        self.socket = socket
        socket.setblocking(False)
        self._pending_connect: Any = None
        self._closed = False

    # -- plain synchronous operations ------------------------------------------------------------
    def fileno(self) -> int:
        return self.socket.fileno()

    def bind(self, address: Any, /) -> None:
        self.socket.bind(address)

    def listen(self, backlog: int | None = None, /) -> None:
        if backlog is None:
            self.socket.listen()
        else:
            self.socket.listen(backlog)

    def __getattr__(self, name: str) -> Any:
        # getsockname, setsockopt, family, ... come from the wrapped socket
        if name == "socket":
            raise AttributeError(name)
        return getattr(self.socket, name)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- connect ---------------------------------------------------------------------------------
    def connect(self, address: Any, /) -> "_Connecting":
        """Connect to ``address``. Await the result to wait for the connection (and its errors);
        if you don't, the first send/recv completes it."""
        self._pending_connect = address
        return _Connecting(self)

    async def _ensure_connected(self) -> None:
        address = self._pending_connect
        if address is None:
            return
        self._pending_connect = None
        await self._connect(address)

    async def _connect(self, address: Any) -> None:
        instrument = active_loop_instrument()
        start = SocketConnectStartMetadata(socket_handle=self, target_address=address)
        if instrument is not None:
            instrument.on_socket_connect_start(start)
        sock = self.socket
        if (
            isinstance(address, tuple)
            and sock.family in (_socket.AF_INET, _socket.AF_INET6)
            and isinstance(address[0], str)
            and not _is_numeric_host(address[0])
        ):
            infos = await to_thread(_socket.getaddrinfo, address[0], address[1], sock.family, sock.type)
            if not infos:
                raise OSError(errno.EHOSTUNREACH, f"could not resolve {address[0]!r}")
            address = infos[0][4]
        code = sock.connect_ex(address)
        if code in _IN_PROGRESS:
            await wait_io_trap(sock, True, self)
            code = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if code:
            raise OSError(code, f"{os.strerror(code)} (connecting to {address!r})")
        if instrument is not None:
            instrument.on_socket_connect_ready(SocketConnectReadyMetadata.from_instrumentation_metadata(start))

    # -- data ------------------------------------------------------------------------------------
    async def recv(self, bufsize: int) -> bytes:
        """Receive up to ``bufsize`` bytes; ``b""`` at end of stream or if the socket is closed."""
        if self._pending_connect is not None:
            await self._ensure_connected()
        instrument = active_loop_instrument()
        while True:
            try:
                data = self.socket.recv(bufsize)
            except _WOULD_BLOCK:
                await self._wait(False, instrument)
            except ssl.SSLWantReadError:
                await self._wait(False, instrument)
            except ssl.SSLWantWriteError:
                await self._wait(True, instrument)
            except OSError as error:
                if error.errno == errno.EBADF or self._closed:
                    return b""
                raise
            else:
                if instrument is not None:
                    instrument.on_socket_recv_data(SocketRecvDataMetadata(socket_handle=self, data=data))
                return data

    async def send(self, data: bytes) -> int:
        """Send once (waiting for writability if needed); returns the number of bytes sent."""
        if self._pending_connect is not None:
            await self._ensure_connected()
        instrument = active_loop_instrument()
        while True:
            try:
                sent = self.socket.send(data)
            except _WOULD_BLOCK:
                await self._wait(True, instrument)
            except ssl.SSLWantWriteError:
                await self._wait(True, instrument)
            except ssl.SSLWantReadError:
                await self._wait(False, instrument)
            else:
                if instrument is not None:
                    instrument.on_socket_send_data(
                        SocketSendDataMetadata(socket_handle=self, data=bytes(data[:sent]), bytes_sent=sent)
                    )
                return sent

    async def sendAll(self, data: bytes) -> None:  # noqa: N802 - flowno's name
        """Send all of ``data``."""
        view = memoryview(data)
        while view:
            sent = await self.send(view)  # type: ignore[arg-type]
            view = view[sent:]

    sendall = sendAll

    async def accept(self) -> tuple["SocketHandle", Any]:
        """Wait for an incoming connection; returns a non-blocking handle and the peer address."""
        instrument = active_loop_instrument()
        while True:
            try:
                conn, address = self.socket.accept()
            except _WOULD_BLOCK:
                await self._wait(False, instrument, accept=True)
            else:
                return SocketHandle(conn), address

    async def _wait(self, for_write: bool, instrument: Any, accept: bool = False) -> None:
        if instrument is None:
            await wait_io_trap(self.socket, for_write, self)
            return
        meta = InstrumentationMetadata(_task=current_task(), _command=None, socket_handle=self)
        if accept:
            instrument.on_socket_accept_start(meta)
        elif for_write:
            instrument.on_socket_send_start(meta)
        else:
            instrument.on_socket_recv_start(meta)
        await wait_io_trap(self.socket, for_write, self)
        ready = ReadySocketInstrumentationMetadata.from_instrumentation_metadata(meta)
        if accept:
            instrument.on_socket_accept_ready(ready)
        elif for_write:
            instrument.on_socket_send_ready(ready)
        else:
            instrument.on_socket_recv_ready(ready)

    # -- closing ---------------------------------------------------------------------------------
    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        """Turn this connected socket into a TLS client socket; the handshake never blocks the loop
        (it waits for readiness between steps) and fires ``on_tls_handshake_complete``."""
        loop = current_event_loop()
        start = loop.time() if loop is not None else 0.0
        tls = ssl_context.wrap_socket(self.socket, server_hostname=server_hostname, do_handshake_on_connect=False)
        self.socket = tls
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await wait_io_trap(tls, False, self)
            except ssl.SSLWantWriteError:
                await wait_io_trap(tls, True, self)
        instrument = active_loop_instrument()
        if instrument is not None:
            instrument.on_tls_handshake_complete(
                TLSHandshakeMetadata(
                    socket_handle=self,
                    cipher=tls.cipher(),
                    version=tls.version(),
                    server_hostname=server_hostname,
                    start_time=start,
                )
            )

    def close(self) -> None:
        """Close the socket; tasks waiting on it wake up (recv returns b"", send raises)."""
        if self._closed:
            return
        self._closed = True
        loop = current_event_loop()
        mux = None if loop is None else loop._mux
        if mux is not None:
            # waiters wake normally and retry on the closed socket: recv returns b"", the others
            # raise EBADF (each in its own task, with its own exception)
            mux.forget_fileobj(self.socket, None)
        self.socket.close()
        instrument = active_loop_instrument()
        if instrument is not None:
            instrument.on_socket_close(InstrumentationMetadata(_task=current_task(), _command=None, socket_handle=self))

    def __enter__(self) -> "SocketHandle":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> "SocketHandle":
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            fd = self.socket.fileno()
        except OSError:
            fd = -1
        return f"<{type(self).__name__} fd={fd}{' closed' if self._closed else ''}>"


class _Connecting:
    """What ``connect`` returns: awaiting it performs (and waits for) the connection."""

    __slots__ = ("_handle",)

    def __init__(self, handle: SocketHandle) -> None:
        self._handle = handle

    def __await__(self) -> Generator[Any, Any, None]:
        return self._handle._ensure_connected().__await__()


class TLSSocketHandle(SocketHandle):
    """A client socket that speaks TLS after connecting; the handshake never blocks the loop."""

    def __init__(self, socket: _socket.socket, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        super().__init__(socket)
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname

    async def _connect(self, address: Any) -> None:
        await super()._connect(address)
        if self.server_hostname is None and isinstance(address, tuple) and isinstance(address[0], str):
            if not _is_numeric_host(address[0]):
                self.server_hostname = address[0]
        await self.start_tls(self.ssl_context, self.server_hostname)


def socket(
    family: _socket.AddressFamily | int = -1,
    type: _socket.SocketKind | int = -1,  # noqa: A002 - flowno's signature
    proto: int = -1,
    fileno: int | None = None,
    use_tls: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> SocketHandle:
    """Create a non-blocking socket for the loop (``use_tls=True`` for a TLS client socket).

    Example::

        sock = socket()                      # TCP over IPv4
        tls = socket(use_tls=True, server_hostname="example.org")
    """
    raw = _socket.socket(family, type, proto, fileno)
    if use_tls:
        return TLSSocketHandle(raw, ssl_context or ssl.create_default_context(), server_hostname)
    return SocketHandle(raw)
