"""Ctrl-C handling for a running loop (D10).

Theory of operation: only while ``run_until_complete`` runs on the main thread, and only if SIGINT
still has Python's default handler, SIGINT is routed to the loop (``EventLoop._on_sigint``): the
run ends after the running step, its tasks are cancelled and clean up as at any end of a run, the
handler is restored and KeyboardInterrupt is raised. A Ctrl-C during that clean-up hurries it (what
is still alive is closed). A Ctrl-C before the loop acted on the previous one raises
KeyboardInterrupt at once (so a task stuck in a CPU loop can still be interrupted). SIGTERM, SIGUSR1 and every other signal are left untouched: a
SIGTERM with the default disposition kills the process, as it should. The previous handler is always
restored.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


class SigintRouting:
    """Context manager installing the loop's SIGINT handler for the duration of a run."""

    def __init__(self, on_interrupt: Callable[[], bool]) -> None:
        self._on_interrupt = on_interrupt
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> "SigintRouting":
        if threading.current_thread() is not threading.main_thread():
            return self
        try:
            previous = signal.getsignal(signal.SIGINT)
        except ValueError:  # pragma: no cover - not the main interpreter
            return self
        if previous is not signal.default_int_handler:
            return self
        self._previous = previous
        signal.signal(signal.SIGINT, self._handle)
        self._installed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self._on_interrupt():
            raise KeyboardInterrupt

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
