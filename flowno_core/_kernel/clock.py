"""Clocks: the real monotonic clock and the virtual clock used by tests.

Theory of operation: the loop asks its clock for ``now()`` and, when it is about to block until the
next timer, for ``real_wait(seconds, io_pending)``: how many *real* seconds the selector should
block. The monotonic clock blocks for the whole time. The virtual clock blocks for no time (or, while
something outside the loop may still wake it: real I/O, a worker thread, an open Inlet, for a short
grace period) and then jumps its time forward to the timer's deadline, so a test that sleeps for an
hour runs in microseconds and is deterministic.
"""

from __future__ import annotations

import time


class MonotonicClock:
    """Wall-clock time from ``time.monotonic`` (the default)."""

    __slots__ = ()
    is_virtual = False

    now = staticmethod(time.monotonic)  # (the C function itself: read on every evaluation)

    def real_wait(self, seconds: float, io_pending: bool) -> float:
        return seconds

    def jump_to(self, deadline: float) -> None:  # pragma: no cover - never called for a real clock
        pass


class VirtualClock:
    """Virtual time that jumps to the next timer whenever the loop would otherwise block.

    ``io_grace`` is how many real seconds to wait for real I/O, worker threads or an open Inlet
    before jumping (so a loopback server gets its chance to answer before a virtual timeout fires).

    Example::

        clock = VirtualClock()
        loop = EventLoop(clock=clock)
        loop.run_until_complete(sleep(3600))   # returns at once
        assert clock.now() >= 3600
    """

    __slots__ = ("_now", "io_grace")
    is_virtual = True

    def __init__(self, start: float = 0.0, io_grace: float = 0.05) -> None:
        self._now = float(start)
        self.io_grace = io_grace

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._now += seconds

    def real_wait(self, seconds: float, io_pending: bool) -> float:
        return min(seconds, self.io_grace) if io_pending else 0.0

    def jump_to(self, deadline: float) -> None:
        if deadline > self._now:
            self._now = deadline
