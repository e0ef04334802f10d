"""Event-loop instrumentation hooks (flowno-compatible names and signatures).

Theory of operation: ``with MyInstrument():`` pushes the instrument on a ContextVar *stack*; with
several active, a composite calls each, innermost first. Code that fires a hook first calls
``active_loop_instrument()``, which is ``None`` when nothing is active, so an unused hook costs one
ContextVar read. The loop decides once per ``run_until_complete`` whether to use its instrumented
step function (task send/throw/completed/error/cancelled hooks); queue and socket hooks are looked up
where they happen, in the task's context.
"""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from .instrument_events import (
        InstrumentationMetadata,
        ReadySocketInstrumentationMetadata,
        SocketConnectReadyMetadata,
        SocketConnectStartMetadata,
        SocketRecvDataMetadata,
        SocketSendDataMetadata,
        TaskSendMetadata,
        TaskThrowMetadata,
        TLSHandshakeMetadata,
    )

_STACK: contextvars.ContextVar[tuple["EventLoopInstrument", ...]] = contextvars.ContextVar(
    "flowno_core.loop_instruments", default=()
)


class EventLoopInstrument:
    """Base class: override the hooks you need; all default to doing nothing.

    Example::

        class CountSteps(EventLoopInstrument):
            steps = 0
            def on_task_before_send(self, metadata):
                self.steps += 1

        with CountSteps() as counter:
            EventLoop().run_until_complete(main())
    """

    _tokens: list[contextvars.Token[tuple["EventLoopInstrument", ...]]]

    def on_queue_get(self, queue: Any, item: Any, immediate: bool) -> None: ...
    def on_queue_put(self, queue: Any, item: Any, immediate: bool) -> None: ...
    def on_socket_connect_start(self, metadata: SocketConnectStartMetadata) -> None: ...
    def on_socket_connect_ready(self, metadata: SocketConnectReadyMetadata) -> None: ...
    def on_socket_recv_start(self, metadata: InstrumentationMetadata) -> None: ...
    def on_socket_recv_ready(self, metadata: ReadySocketInstrumentationMetadata) -> None: ...
    def on_socket_recv_data(self, metadata: SocketRecvDataMetadata) -> None: ...
    def on_socket_send_start(self, metadata: InstrumentationMetadata) -> None: ...
    def on_socket_send_ready(self, metadata: ReadySocketInstrumentationMetadata) -> None: ...
    def on_socket_send_data(self, metadata: SocketSendDataMetadata) -> None: ...
    def on_socket_accept_start(self, metadata: InstrumentationMetadata) -> None: ...
    def on_socket_accept_ready(self, metadata: ReadySocketInstrumentationMetadata) -> None: ...
    def on_tls_handshake_complete(self, metadata: TLSHandshakeMetadata) -> None: ...
    def on_socket_close(self, metadata: InstrumentationMetadata) -> None: ...
    def on_task_before_send(self, metadata: TaskSendMetadata) -> None: ...
    def on_task_after_send(self, metadata: TaskSendMetadata, command: Any) -> None: ...
    def on_task_before_throw(self, metadata: TaskThrowMetadata) -> None: ...
    def on_task_after_throw(self, metadata: TaskThrowMetadata, command: Any) -> None: ...
    def on_task_completed(self, task: Any, result: Any) -> None: ...
    def on_task_error(self, task: Any, exception: BaseException) -> None: ...
    def on_task_cancelled(self, task: Any, exception: BaseException) -> None: ...
    def on_task_spawned(self, task: Any, parent: Any) -> None:
        """flowno_core addition: a task was created (``parent`` is the spawner's coroutine or None)."""

    def __enter__(self) -> Self:
        tokens = self.__dict__.setdefault("_tokens", [])
        tokens.append(_STACK.set(_STACK.get() + (self,)))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _STACK.reset(self._tokens.pop())


_HOOK_NAMES = [name for name in vars(EventLoopInstrument) if name.startswith("on_")]


class _CompositeInstrument(EventLoopInstrument):
    """Calls every active instrument, innermost first."""

    def __init__(self, instruments: tuple[EventLoopInstrument, ...]) -> None:
        self._instruments = tuple(reversed(instruments))

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            members = object.__getattribute__(self, "_instruments")

            def fan_out(*args: Any, **kwargs: Any) -> None:
                for instrument in members:
                    getattr(instrument, name)(*args, **kwargs)

            return fan_out
        return object.__getattribute__(self, name)


_NOOP = EventLoopInstrument()


def active_loop_instrument() -> EventLoopInstrument | None:
    """The active instrument (a composite when several are active), or None."""
    stack = _STACK.get()
    if not stack:
        return None
    if len(stack) == 1:
        return stack[0]
    return _CompositeInstrument(stack)


def get_current_instrument() -> EventLoopInstrument:
    """The active instrument, or a no-op one (flowno's name)."""
    return active_loop_instrument() or _NOOP


class PrintInstrument(EventLoopInstrument):
    """Prints socket events as tagged lines."""

    def _emit(self, text: str) -> None:
        print(text)

    @staticmethod
    def _peer(handle: Any) -> str:
        try:
            return str(handle.socket.getpeername())
        except (OSError, AttributeError):
            return "?"

    def on_socket_connect_start(self, metadata: SocketConnectStartMetadata) -> None:
        self._emit(f"[SOCKET-CONNECT] start {metadata.target_address}")

    def on_socket_connect_ready(self, metadata: SocketConnectReadyMetadata) -> None:
        self._emit(f"[SOCKET-CONNECT] ready {metadata.target_address}")

    def on_socket_send_data(self, metadata: SocketSendDataMetadata) -> None:
        self._emit(f"[SOCKET-SEND] {metadata.bytes_sent} bytes to {self._peer(metadata.socket_handle)}")

    def on_socket_recv_data(self, metadata: SocketRecvDataMetadata) -> None:
        self._emit(f"[SOCKET-RECV] {len(metadata.data)} bytes from {self._peer(metadata.socket_handle)}")

    def on_socket_close(self, metadata: InstrumentationMetadata) -> None:
        self._emit("[SOCKET-CLOSE]")

    def on_tls_handshake_complete(self, metadata: TLSHandshakeMetadata) -> None:
        self._emit(f"[TLS] {metadata.version} {metadata.cipher} {metadata.server_hostname}")


class LogInstrument(PrintInstrument):
    """The same lines as PrintInstrument, sent to ``logger.debug``."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("flowno_core.instrumentation")

    def _emit(self, text: str) -> None:
        self.logger.debug(text)
