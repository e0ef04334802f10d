"""HTTP traffic logging: socket-level events and HTTP-level events of HttpClient, one line each.

Theory of operation: ``HttpLoggingInstrument`` is an ``EventLoopInstrument`` (socket hooks: connect,
TLS, send, recv, close) that also publishes itself in a ContextVar while active, so ``HttpClient``
can find it with ``get_current_http_logger()`` and add HTTP events (request, response head,
chunks, SSE events, end of stream) to the same connection id. When no instrument is active the
client pays one ContextVar read per request. Lines look like
``[conn-0001] RECV bytes=128 total=128``; URLs are logged redacted and header values never, so
keys and tokens stay out of the log. ``FLOWNO_HTTP_LOG=/path/file.log`` plus
``get_http_logging_instrument()`` gives a rotating file log, as in flowno.
"""

from __future__ import annotations

import logging
import os
import time
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler
from typing import Any, Self

from .._kernel.instrument_events import (
    InstrumentationMetadata,
    ReadySocketInstrumentationMetadata,
    SocketConnectReadyMetadata,
    SocketConnectStartMetadata,
    SocketRecvDataMetadata,
    SocketSendDataMetadata,
    TLSHandshakeMetadata,
)
from .._kernel.instruments import EventLoopInstrument

_current_http_logger: ContextVar["HttpLoggingInstrument | None"] = ContextVar(
    "flowno_core.io.http_logger", default=None
)


@dataclass
class ConnectionState:
    """Counters for one logged connection."""

    conn_id: str
    host: str
    port: int
    tls: bool = False
    start_time: float = field(default_factory=time.time)
    total_bytes_recv: int = 0
    total_bytes_sent: int = 0
    recv_count: int = 0
    send_count: int = 0
    last_recv_time: float = field(default_factory=time.time)
    last_send_time: float = field(default_factory=time.time)


class HttpLoggingInstrument(EventLoopInstrument):
    """Logs socket I/O and HTTP events with a per-connection id.

    Args:
        logger: where lines go (default: ``logging.getLogger("flowno_core.http_traffic")``, which
            does not propagate to the root logger).

    Example::

        import logging
        logging.basicConfig(level=logging.INFO)
        log = logging.getLogger("http"); log.setLevel(logging.INFO)

        async def main():
            with HttpLoggingInstrument(log):
                await HttpClient().get("http://127.0.0.1:8080/")
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        if logger is None:
            logger = logging.getLogger("flowno_core.http_traffic")
            logger.propagate = False
        self._logger = logger
        self._connections: dict[int, ConnectionState] = {}
        self._counter = 0
        self._http_tokens: list[Token[HttpLoggingInstrument | None]] = []

    def __enter__(self) -> Self:
        super().__enter__()
        self._http_tokens.append(_current_http_logger.set(self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current_http_logger.reset(self._http_tokens.pop())
        super().__exit__(*exc_info)

    def _log(self, conn_id: str, event: str, **fields: object) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            text = " ".join(f"{key}={value}" for key, value in fields.items())
            self._logger.info("[%s] %s %s", conn_id, event, text)

    # -- socket hooks ------------------------------------------------------------------------------
    def on_socket_connect_start(self, metadata: SocketConnectStartMetadata) -> None:
        self._counter += 1
        address = metadata.target_address
        host, port = (address[0], address[1]) if isinstance(address, tuple) else (str(address), 0)
        tls = hasattr(metadata.socket_handle, "ssl_context")
        state = ConnectionState(f"conn-{self._counter:04d}", str(host), int(port), tls)
        self._connections[id(metadata.socket_handle)] = state
        self._log(state.conn_id, "CONNECT", host=host, port=port, tls=tls)

    def on_socket_connect_ready(self, metadata: SocketConnectReadyMetadata) -> None:
        state = self._connections.get(id(metadata.socket_handle))
        if state is not None:
            self._log(state.conn_id, "CONNECTED", ms=f"{(metadata.finish_time - metadata.start_time) * 1000:.1f}")

    def on_tls_handshake_complete(self, metadata: TLSHandshakeMetadata) -> None:
        state = self._connections.get(id(metadata.socket_handle))
        if state is not None:
            cipher = metadata.cipher[0] if metadata.cipher else None
            self._log(state.conn_id, "TLS", version=metadata.version, cipher=cipher)

    def on_socket_send_data(self, metadata: SocketSendDataMetadata) -> None:
        state = self._connections.get(id(metadata.socket_handle))
        if state is not None:
            state.total_bytes_sent += metadata.bytes_sent
            state.send_count += 1
            state.last_send_time = time.time()
            self._log(state.conn_id, "SEND", bytes=metadata.bytes_sent, total=state.total_bytes_sent)

    def on_socket_recv_data(self, metadata: SocketRecvDataMetadata) -> None:
        state = self._connections.get(id(metadata.socket_handle))
        if state is not None:
            now = time.time()
            latency = (now - state.last_send_time) * 1000 if state.recv_count == 0 else (now - state.last_recv_time) * 1000
            state.total_bytes_recv += len(metadata.data)
            state.recv_count += 1
            state.last_recv_time = now
            self._log(state.conn_id, "RECV", bytes=len(metadata.data), total=state.total_bytes_recv,
                      latency_ms=f"{latency:.1f}")

    def on_socket_close(self, metadata: InstrumentationMetadata) -> None:
        state = self._connections.pop(id(metadata.socket_handle), None)
        if state is not None:
            self._log(state.conn_id, "CLOSE", sent=state.total_bytes_sent, received=state.total_bytes_recv)

    # -- HTTP events (called by HttpClient) ---------------------------------------------------------
    def log_request(self, conn_id: str, method: str, url: str, body_len: int) -> None:
        self._log(conn_id, "REQUEST", method=method, url=url, body_len=body_len)

    def log_response_headers(self, conn_id: str, status: int, content_type: str | None,
                             transfer_encoding: str | None, content_length: int | None) -> None:
        fields: dict[str, object] = {"status": status}
        if content_type:
            fields["content_type"] = content_type
        if transfer_encoding:
            fields["transfer_encoding"] = transfer_encoding
        if content_length is not None:
            fields["content_length"] = content_length
        self._log(conn_id, "HEADERS", **fields)

    def log_chunk(self, conn_id: str, seq: int, declared: int, actual: int) -> None:
        fields: dict[str, object] = {"seq": seq, "declared": declared, "actual": actual}
        if declared != actual:
            fields["MISMATCH"] = True
        self._log(conn_id, "CHUNK", **fields)

    def log_sse_event(self, conn_id: str, seq: int, data_len: int, parse_ok: bool, done: bool = False) -> None:
        fields: dict[str, object] = {"seq": seq, "len": data_len, "parse": "ok" if parse_ok else "FAIL"}
        if done:
            fields["done"] = True
        self._log(conn_id, "SSE", **fields)

    def log_json_parse(self, conn_id: str, seq: int, json_len: int, ok: bool, error: str | None = None) -> None:
        fields: dict[str, object] = {"seq": seq, "len": json_len, "ok": ok}
        if error:
            fields["error"] = error
        self._log(conn_id, "JSON", **fields)

    def log_stream_end(self, conn_id: str, total_bytes: int, chunks: int, sse_events: int, duration_ms: float,
                       done_received: bool) -> None:
        self._log(conn_id, "END", total_bytes=total_bytes, chunks=chunks, sse=sse_events,
                  duration_ms=f"{duration_ms:.1f}", done=done_received)

    def get_conn_id(self, sock_handle: Any) -> str | None:
        """The id this instrument gave the connection of ``sock_handle`` (None if unknown)."""
        state = self._connections.get(id(sock_handle))
        return state.conn_id if state is not None else None

    def get_connection_state(self, sock_handle: Any) -> ConnectionState | None:
        return self._connections.get(id(sock_handle))


def configure_file_logger(log_path: str) -> logging.Logger:
    """A logger writing to a rotating file (10 MB x 5), created once per process.

    Example::

        log = configure_file_logger("/tmp/http.log")
    """
    logger = logging.getLogger("flowno_core.http_traffic")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        handler = RotatingFileHandler(log_path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("[%(asctime)s.%(msecs)03d] %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
        logger.addHandler(handler)
    return logger


def get_http_logging_instrument() -> HttpLoggingInstrument | None:
    """An instrument logging to ``$FLOWNO_HTTP_LOG`` when that variable names a file, else None.

    Example::

        instrument = get_http_logging_instrument()
        if instrument is not None:
            with instrument:
                EventLoop().run_until_complete(main())
    """
    path = os.environ.get("FLOWNO_HTTP_LOG")
    if path:
        return HttpLoggingInstrument(configure_file_logger(path))
    return None


def get_current_http_logger() -> HttpLoggingInstrument | None:
    """The active ``HttpLoggingInstrument`` (what HttpClient reports HTTP events to), or None."""
    return _current_http_logger.get()


__all__ = [
    "ConnectionState",
    "HttpLoggingInstrument",
    "configure_file_logger",
    "get_current_http_logger",
    "get_http_logging_instrument",
]
