"""Timers: sleeping tasks and ``call_later`` callbacks on one heap, in the loop's clock.

Theory of operation: each entry is ``(deadline, sequence, Timer)``; the sequence number breaks ties
in insertion order (never comparing tasks). A cancelled timer (a cancelled sleep, a finished
timeout scope) is only marked inactive and skipped when it reaches the top; the heap is compacted
when dead entries outnumber live ones, so long runs of short-lived timeouts do not pile up.

``TimerQueue`` is a mixin of ``EventLoop``, which owns the attributes it uses.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .commands import Sleep
from .parking import reschedule
from .task import Task

if TYPE_CHECKING:
    from .clock import MonotonicClock, VirtualClock


class Timer:
    """A timer-heap entry: wakes a sleeping task or calls a callback (``TimerHandle``)."""

    __slots__ = ("loop", "deadline", "task", "start", "callback", "args", "active")

    def __init__(self, loop: "TimerQueue", deadline: float, start: float) -> None:
        self.loop = loop
        self.deadline = deadline
        self.start = start
        self.task: Task | None = None
        self.callback: Callable[..., Any] | None = None
        self.args: tuple[Any, ...] = ()
        self.active = True

    # waitable protocol (sleep)
    def park(self, task: Task) -> None:
        self.task = task

    def abort(self, task: Task) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Cancel the timer (idempotent)."""
        if self.active:
            self.active = False
            self.task = None
            self.callback = None
            loop = self.loop
            loop._live_timers -= 1
            timers = loop._timers
            if len(timers) > 64 and loop._live_timers * 2 < len(timers):
                loop._compact_timers()  # cancelled entries outnumber live ones: O(1) amortised

    def describe(self) -> str:
        return f"sleep until t={self.deadline:.6f}"


TimerHandle = Timer


class TimerQueue:
    """The loop's timer heap (a mixin of EventLoop)."""

    _clock: "MonotonicClock | VirtualClock"
    _timers: list[tuple[float, int, Timer]]
    _timer_seq: itertools.count[int]
    _live_timers: int
    _ready: Any

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Call ``fn(*args)`` on the loop thread after ``delay`` seconds of loop time.

        Returns a handle with ``cancel()``. The callback runs outside any task.
        """
        now = self._clock.now()
        timer = Timer(self, now + max(delay, 0.0), now)
        timer.callback = fn
        timer.args = args
        self._push_timer(timer)
        return timer

    def _push_timer(self, timer: Timer) -> None:
        heapq.heappush(self._timers, (timer.deadline, next(self._timer_seq), timer))
        self._live_timers += 1

    def _compact_timers(self) -> None:
        """Drop cancelled timers from the heap, in place (callers may hold the list)."""
        timers = self._timers
        timers[:] = [entry for entry in timers if entry[2].active]
        heapq.heapify(timers)

    def _next_deadline(self) -> float:
        timers = self._timers
        while not timers[0][2].active:
            heapq.heappop(timers)
        return timers[0][0]

    def _fire_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, timer = heapq.heappop(timers)
            if not timer.active:
                continue
            task, callback, args = timer.task, timer.callback, timer.args
            timer.cancel()
            if task is not None:
                reschedule(task, now - timer.start)
            elif callback is not None:
                callback(*args)

    # ------------------------------------------------------------------ command handlers
    def _do_sleep(self, task: Task, command: Sleep) -> None:
        seconds = command.seconds
        if seconds <= 0:
            task.send_value = 0.0
            self._ready.append(task)
            return
        now = self._clock.now()
        timer = Timer(self, now + seconds, now)
        timer.task = task
        task.parked_in = timer
        self._push_timer(timer)
