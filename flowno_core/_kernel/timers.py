"""Timers: sleeping tasks and ``call_later`` callbacks on one heap, in the loop's clock.

Theory of operation: ``TimerQueue`` is the loop's timer part. Each heap entry is
``(deadline, sequence, Timer)``; the sequence number breaks ties in insertion order (never
comparing tasks). A cancelled timer (a cancelled sleep, a finished timeout scope) is only marked
inactive and skipped when it reaches the top; the heap is compacted in place when dead entries
outnumber live ones, so long runs of short-lived timeouts do not pile up. ``live`` counts the
active timers: the loop reads it to know whether a timer can still wake anything.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from .clock import MonotonicClock, VirtualClock
from .parking import reschedule
from .task import Task

_COMPACT_ABOVE = 64  # heaps smaller than this are never compacted


class Timer:
    """A timer-heap entry: wakes a sleeping task or calls a callback (``TimerHandle``)."""

    __slots__ = ("queue", "deadline", "task", "start", "callback", "args", "active")

    def __init__(self, queue: TimerQueue, deadline: float, start: float) -> None:
        self.queue = queue
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
            self.queue.forget_one()

    def describe(self) -> str:
        return f"sleep until t={self.deadline:.6f}"


TimerHandle = Timer


class TimerQueue:
    """The loop's timer heap, in the loop's clock."""

    __slots__ = ("_clock", "_heap", "_sequence", "live")

    def __init__(self, clock: MonotonicClock | VirtualClock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self.live = 0  # active timers in the heap

    def __len__(self) -> int:
        """Heap entries, cancelled ones not yet dropped included."""
        return len(self._heap)

    def call_later(self, delay: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> Timer:
        now = self._clock.now()
        timer = Timer(self, now + max(delay, 0.0), now)
        timer.callback = fn
        timer.args = args
        self._push(timer)
        return timer

    def sleep(self, task: Task, seconds: float) -> None:
        """Park ``task`` until ``seconds`` from now; it is resumed with the elapsed time."""
        now = self._clock.now()
        timer = Timer(self, now + seconds, now)
        timer.task = task
        task.parked_in = timer
        self._push(timer)

    def _push(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.deadline, next(self._sequence), timer))
        self.live += 1

    def forget_one(self) -> None:
        """A timer was cancelled: count it out, and compact when dead entries outnumber live ones."""
        self.live -= 1
        heap = self._heap
        if len(heap) > _COMPACT_ABOVE and self.live * 2 < len(heap):
            heap[:] = [entry for entry in heap if entry[2].active]  # in place: fire_due may hold it
            heapq.heapify(heap)

    def next_deadline(self) -> float:
        """The earliest active deadline (there must be a live timer)."""
        heap = self._heap
        while not heap[0][2].active:
            heapq.heappop(heap)
        return heap[0][0]

    def fire_due(self, now: float) -> None:
        """Wake the sleepers and call the callbacks whose deadline is ``now`` or earlier."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, timer = heapq.heappop(heap)
            if not timer.active:
                continue
            task, callback, args = timer.task, timer.callback, timer.args
            timer.cancel()
            if task is not None:
                reschedule(task, now - timer.start)
            elif callback is not None:
                callback(*args)

    def clear(self) -> None:
        """Drop every timer (end of a run); a handle cancelled later must not touch the next run."""
        heap, self._heap = self._heap, []
        for _, _, timer in heap:
            timer.cancel()
        self.live = 0
