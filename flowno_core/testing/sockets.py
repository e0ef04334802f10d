"""Checking that code closes its sockets and file descriptors (for tests)."""

from __future__ import annotations

import os
from typing import Any

from .._kernel.instrument_events import InstrumentationMetadata, SocketConnectStartMetadata
from .._kernel.instruments import EventLoopInstrument


class SocketTracker(EventLoopInstrument):
    """An instrument that remembers the client sockets opened and closed while it is active.

    Example::

        with SocketTracker() as tracker:
            f.run_until_complete()
        assert tracker.still_open == []
    """

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.closed: set[int] = set()

    def on_socket_connect_start(self, metadata: SocketConnectStartMetadata) -> None:
        self.opened.append(metadata.socket_handle)

    def on_socket_close(self, metadata: InstrumentationMetadata) -> None:
        self.closed.add(id(metadata.socket_handle))

    @property
    def still_open(self) -> list[Any]:
        """Handles that connected and are neither closed through the loop nor marked closed."""
        return [h for h in self.opened if id(h) not in self.closed and not getattr(h, "closed", True)]


def open_fds() -> set[str]:
    """The process's open file descriptors (Linux; an empty set elsewhere)."""
    try:
        return set(os.listdir("/proc/self/fd"))
    except FileNotFoundError:  # pragma: no cover - not Linux
        return set()
