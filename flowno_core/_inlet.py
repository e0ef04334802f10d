"""Inlet: a thread-safe way to feed a running flow (or any task) from outside the loop.

Theory of operation: an inlet is a deque guarded by a ``threading.Lock``, two parking lots for the
loop side (tasks waiting for an item, tasks waiting for room) and a ``threading.Condition`` for
other threads waiting for room. A task checks for an item and registers as waiting in one critical
section, then parks; a ``put`` from any thread appends under the same lock and, if a task waits,
asks the loop to wake it through ``call_soon_threadsafe`` (one wake-up call is in flight at a time;
it wakes as many waiting getters as there are items). So no item slips between a getter's check
and its parking. A woken getter looks again (another task may have taken the item), and a getter
cancelled while it waits simply leaves the lot and the count.

While it waits on an open inlet, a task is in an ``EventLoop.outside_wait()``: the loop treats it
like a socket wait (another thread can end it), so it blocks for the wake-up instead of reporting
a stall, and a virtual clock does not jump past it. ``close`` (from any thread) wakes everybody:
getters take what is left, then get ``QueueClosedError``; putters get ``QueueClosedError``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TypeVar

from ._kernel.loop import EventLoop, current_event_loop
from ._kernel.parking import ParkingLot
from ._kernel.task import CURRENT_TASK
from ._kernel.traps import park_trap
from ._queues import ClosableQueue
from .errors import QueueClosedError

T = TypeVar("T")


class Inlet(ClosableQueue[T]):
    """A queue that other threads feed and tasks read: the way into a running flow from outside.

    ``put`` works from any thread (and from a task); ``get`` and ``async for`` work in tasks. With
    ``maxsize`` set, a full inlet makes ``put`` from another thread *block* until a task takes an
    item (back-pressure on the feeding thread); inside a task use ``await inlet.aput(item)``,
    which waits without blocking the loop (``put`` from a task raises instead of blocking). While a
    task waits on an open inlet the run is kept alive: the loop waits for the other thread instead
    of reporting a stall or a deadlock. ``close()`` ends it: iteration stops once the items left
    are taken.

    Example (a sensor thread feeding a flow)::

        import threading
        from flowno_core import FlowHDL, Inlet, Stream, node

        readings = Inlet[float]()

        @node
        async def Sensor():
            async for value in readings:       # ends when the inlet is closed
                yield value

        @node(stream_in=["values"])
        async def Average(values: Stream[float]) -> float:
            seen = [value async for value in values]
            return sum(seen) / len(seen)

        def sensor_thread():
            for value in (20.5, 21.0, 21.5):
                readings.put(value)
            readings.close()

        with FlowHDL() as f:
            f.average = Average(f.sensor)
            f.sensor = Sensor()

        threading.Thread(target=sensor_thread).start()
        f.run_until_complete()
        assert f.average.get_data() == (21.0,)
    """

    def __init__(self, maxsize: int | None = None) -> None:
        if maxsize is not None and maxsize <= 0:
            raise ValueError(f"maxsize must be a positive int or None, got {maxsize!r}")
        super().__init__()
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # other threads waiting in put()
        self._getters = ParkingLot("an item from an Inlet (another thread puts it)")
        self._putters = ParkingLot("room in a full Inlet")
        # guarded by the lock:
        self._waiting = 0  # tasks that registered to wait (getters and putters)
        self._loop: EventLoop | None = None  # the loop those tasks run on
        self._wake_scheduled = False  # a call to _wake is on its way to that loop

    def __len__(self) -> int:
        return len(self._items)

    def _full(self) -> bool:
        return self.maxsize is not None and len(self._items) >= self.maxsize

    # -- any thread ---------------------------------------------------------------------------------
    def put(self, item: T) -> None:
        """Append ``item``; thread-safe. Blocks the calling thread while the inlet is full.

        Raises QueueClosedError once the inlet is closed (also while blocked), and RuntimeError
        instead of blocking on a thread that runs an event loop (in a task, ``await aput(item)``).
        """
        with self._lock:
            while True:
                if self._closed:
                    raise QueueClosedError(f"cannot put {item!r}: the inlet is closed")
                if not self._full():
                    break
                if current_event_loop() is not None:
                    raise RuntimeError(
                        f"the Inlet is full (maxsize={self.maxsize}) and put() would block this thread's "
                        "event loop; inside a task use `await inlet.aput(item)`"
                    )
                self._room.wait()
            self._items.append(item)
            loop = self._wake_needed()
        if loop is not None:
            loop.call_soon_threadsafe(self._wake)

    def close(self) -> None:
        """Close the inlet (thread-safe, idempotent): puts fail, gets drain what is left then fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._room.notify_all()
            loop = self._wake_needed()
        if loop is not None:
            loop.call_soon_threadsafe(self._wake)

    def _wake_needed(self) -> EventLoop | None:
        """Under the lock: the loop to send a wake-up call to, if a task waits and none is on its way."""
        if not self._waiting or self._wake_scheduled:
            return None
        self._wake_scheduled = True
        return self._loop

    # -- the loop thread ----------------------------------------------------------------------------
    def _wake(self) -> None:
        """Wake the waiting tasks that can go on now (runs on the loop thread)."""
        with self._lock:
            self._wake_scheduled = False
            closed = self._closed
            ready = len(self._items)
        if closed:
            self._getters.unpark_all()
            self._putters.unpark_all()
            return
        for _ in range(ready):
            if self._getters.unpark_one() is None:
                break

    def _running_loop(self, what: str) -> EventLoop:
        loop = current_event_loop()
        if loop is None or CURRENT_TASK.get() is None:
            raise RuntimeError(f"Inlet.{what}() must be awaited inside a flowno_core task")
        return loop

    def _register(self, loop: EventLoop) -> None:
        """Under the lock: the calling task is about to wait on this inlet."""
        if self._waiting and self._loop is not loop:
            raise RuntimeError("an Inlet can be read by tasks of one event loop at a time")
        self._loop = loop
        self._waiting += 1

    async def _wait(self, loop: EventLoop, lot: ParkingLot) -> None:
        """Park in ``lot`` as a wait another thread can end; leave the count however it ends."""
        try:
            with loop.outside_wait():
                await park_trap(lot.park_command)
        finally:
            with self._lock:
                self._waiting -= 1
                if not self._waiting:
                    self._loop = None
                    self._wake_scheduled = False  # a wake-up still on its way finds nobody: harmless

    async def get(self) -> T:
        """Take the oldest item, waiting while the inlet is empty and open.

        Raises QueueClosedError when the inlet is closed and empty.
        """
        loop = self._running_loop("get")
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    self._room.notify()
                    more = bool(self._items)
                    break
                if self._closed:
                    raise QueueClosedError("the inlet is closed and empty")
                self._register(loop)
            await self._wait(loop, self._getters)
        if self._putters:
            self._putters.unpark_one()
        if more and self._getters:
            self._getters.unpark_one()  # more items than woken getters: pass the turn on
        return item

    async def aput(self, item: T) -> None:
        """Append ``item`` from a task, waiting (without blocking the loop) while the inlet is full.

        Raises QueueClosedError if the inlet is closed.
        """
        loop = self._running_loop("aput")
        while True:
            with self._lock:
                if self._closed:
                    raise QueueClosedError(f"cannot put {item!r}: the inlet is closed")
                if not self._full():
                    self._items.append(item)
                    wake = self._wake_needed()
                    break
                self._register(loop)
            await self._wait(loop, self._putters)
        if wake is not None:
            wake.call_soon_threadsafe(self._wake)
