"""Event, Lock, Condition, Semaphore and CountdownLatch, all built on the parking lot.

Theory of operation: every primitive owns one or two ``ParkingLot``s. Waiting = parking in a lot;
waking = ``unpark_one``/``unpark_all`` (FIFO). Ownership is handed over directly: ``Lock.release``
makes the oldest waiter the owner before waking it, and ``Condition.notify`` moves waiters from the
condition's lot into the lock's lot, so they wake in FIFO order exactly when they own the lock
(D12). Cancellation removes a waiter from its lot (kernel ``abort``), so no primitive ever sees a
stale waiter; a task handed the lock (or a semaphore's permit) and cancelled before it could run
(at the end of a run) passes it on. Fast paths (free lock, set event, open latch) never yield.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ._kernel.parking import ParkingLot, reschedule
from ._kernel.task import CURRENT_TASK, Task
from ._kernel.traps import park_trap, sleep_trap
from .errors import LockNotOwnedError, ZeroLatchError


def _running_task(what: str) -> Task:
    task = CURRENT_TASK.get()
    if task is None:
        raise RuntimeError(f"{what} must be awaited inside a flowno_core task")
    return task


class Event:
    """A one-shot flag tasks can wait for (no ``clear``).

    Example::

        ready = Event()

        async def waiter():
            await ready.wait()

        async def main():
            await spawn(waiter())
            await ready.set()
    """

    __slots__ = ("_flag", "_lot")

    def __init__(self) -> None:
        self._flag = False
        self._lot = ParkingLot("an Event to be set")

    def is_set(self) -> bool:
        return self._flag

    async def wait(self) -> None:
        """Return once the event is set (at once, without yielding, if it already is)."""
        if not self._flag:
            await park_trap(self._lot.park_command)

    async def set(self) -> None:
        """Set the event; waiters run (in the order they started waiting) before the setter resumes."""
        if self.set_nowait():
            await sleep_trap(0)

    def set_nowait(self) -> bool:
        """Set the event without yielding (for callbacks and command handlers); True if anyone woke."""
        if self._flag:
            return False
        self._flag = True
        return self._lot.unpark_all() > 0

    def describe(self) -> str:
        return "event"

    def __repr__(self) -> str:
        return f"<Event set={self._flag} waiters={len(self._lot)}>"


class Lock:
    """A FIFO, non-reentrant lock with direct hand-off.

    Example::

        lock = Lock()

        async def critical():
            async with lock:
                ...
    """

    __slots__ = ("_owner", "_lot")

    def __init__(self) -> None:
        self._owner: Task | None = None
        self._lot = ParkingLot("a Lock")

    def is_locked(self) -> bool:
        return self._owner is not None

    @property
    def owner(self) -> Task | None:
        return self._owner

    async def acquire(self) -> None:
        """Wait until the lock is free, then take it (first come, first served)."""
        task = _running_task("Lock.acquire()")
        owner = self._owner
        if owner is None:
            self._owner = task
            return
        if owner is task:
            raise RuntimeError(f"task {task.name} already holds this Lock; Lock is not reentrant")
        try:
            await park_trap(self._lot.park_command)  # release() made us the owner before waking us
        except BaseException:
            if self._owner is task:  # handed the lock, then cancelled before it could run: pass it on
                self._hand_off()
            raise

    async def release(self) -> None:
        """Release the lock; the oldest waiter gets it and runs before the releaser resumes."""
        task = _running_task("Lock.release()")
        if self._owner is not task:
            raise LockNotOwnedError(
                f"task {task.name} released a Lock it does not hold "
                f"(owner: {'nobody' if self._owner is None else self._owner.name})"
            )
        if self._hand_off():
            await sleep_trap(0)

    def _hand_off(self) -> bool:
        """Give the lock to the oldest waiter (waking it) or unlock; True if someone got it."""
        task = self._lot.unpark_one()
        self._owner = task
        return task is not None

    def _grant_or_queue(self, task: Task) -> None:
        """Make a parked-nowhere task wait for the lock (or own it at once if it is free)."""
        if self._owner is None:
            self._owner = task
            reschedule(task)
        else:
            self._lot.transfer(task)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()

    def __repr__(self) -> str:
        return f"<Lock locked={self.is_locked()} waiters={len(self._lot)}>"


class Condition:
    """Wait/notify on an associated Lock (which must be held); notify wakes in FIFO order.

    Example::

        cond = Condition()

        async def consumer():
            async with cond:
                while not items:
                    await cond.wait()
    """

    __slots__ = ("_lock", "_lot")

    def __init__(self, lock: Lock | None = None) -> None:
        self._lock = lock if lock is not None else Lock()
        self._lot = ParkingLot("a Condition to be notified")

    @property
    def lock(self) -> Lock:
        return self._lock

    def _check_owner(self, what: str) -> Task:
        task = _running_task(f"Condition.{what}()")
        if self._lock._owner is not task:
            raise LockNotOwnedError(f"task {task.name} called Condition.{what}() without holding its lock")
        return task

    async def wait(self) -> None:
        """Release the lock, wait for a notify, and return holding the lock again."""
        task = self._check_owner("wait")
        self._lock._hand_off()
        try:
            await park_trap(self._lot.park_command)
        except BaseException:
            if self._lock._owner is not task:
                await self._lock.acquire()  # leave as we came in: holding the lock
            raise

    async def notify(self, n: int = 1) -> None:
        """Wake the oldest waiter (any ``n > 1`` wakes all); they run once the lock is released."""
        self._check_owner("notify")
        self._move(None if n > 1 else 1)

    async def notify_all(self) -> None:
        """Wake every waiter."""
        self._check_owner("notify_all")
        self._move(None)

    def _move(self, limit: int | None) -> int:
        moved = 0
        while limit is None or moved < limit:
            task = self._lot.pop_oldest()
            if task is None:
                break
            self._lock._grant_or_queue(task)
            moved += 1
        return moved

    def notify_nowait(self, event_loop: Any = None) -> bool:
        """Wake one waiter without holding the lock (for command handlers); True if one woke."""
        return self._move(1) == 1

    def notify_all_nowait(self, event_loop: Any = None) -> int:
        """Wake all waiters without holding the lock; returns how many."""
        return self._move(None)

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._lock.release()

    def __repr__(self) -> str:
        return f"<Condition waiters={len(self._lot)} {self._lock!r}>"


class Semaphore:
    """A counting semaphore with FIFO waiters.

    Example::

        limit = Semaphore(3)

        async def fetch():
            async with limit:      # at most 3 at a time
                ...
    """

    __slots__ = ("_value", "_lot", "_handed")

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError(f"Semaphore value must be >= 0, got {value}")
        self._value = value
        self._lot = ParkingLot("a Semaphore")
        self._handed: set[Task] = set()  # woken with a permit, not resumed yet

    @property
    def value(self) -> int:
        return self._value

    async def acquire(self) -> None:
        if self._value > 0:
            self._value -= 1
            return
        task = _running_task("Semaphore.acquire()")
        try:
            await park_trap(self._lot.park_command)  # release() handed us its permit
        except BaseException:
            if task in self._handed:  # handed a permit, then cancelled before it could run: pass it on
                self._handed.discard(task)
                self.release_nowait()
            raise
        self._handed.discard(task)

    async def release(self) -> None:
        self.release_nowait()

    def release_nowait(self) -> None:
        task = self._lot.unpark_one()
        if task is None:
            self._value += 1
        else:
            self._handed.add(task)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release_nowait()

    def __repr__(self) -> str:
        return f"<Semaphore value={self._value} waiters={len(self._lot)}>"


class CountdownLatch:
    """Released when its count reaches 0; ``set_count(n > 0)`` re-arms it.

    Example::

        latch = CountdownLatch(2)

        async def worker():
            ...
            await latch.count_down()

        async def main():
            await spawn(worker()); await spawn(worker())
            await latch.wait()       # both workers are done
    """

    ZeroLatchError = ZeroLatchError

    __slots__ = ("_count", "_lot")

    def __init__(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"CountdownLatch count must be >= 0, got {count}")
        self._count = count
        self._lot = ParkingLot("a CountdownLatch to reach 0")

    @property
    def count(self) -> int:
        return self._count

    def set_count(self, count: int) -> None:
        """Set the count; > 0 re-arms the latch, 0 releases every waiter."""
        if count < 0:
            raise ValueError(f"CountdownLatch count must be >= 0, got {count}")
        self._count = count
        if count == 0:
            self._lot.unpark_all()

    async def wait(self) -> None:
        """Return once the count is 0 (at once if it already is)."""
        if self._count > 0:
            await park_trap(self._lot.park_command)

    async def count_down(self, exception_if_zero: bool = False) -> None:
        """Decrement the count; at 0 every waiter is released."""
        self.countdown_nowait(None, exception_if_zero)

    def countdown_nowait(self, event_loop: Any = None, exception_if_zero: bool = False) -> None:
        """Synchronous ``count_down`` (for command handlers and callbacks)."""
        if self._count == 0:
            if exception_if_zero:
                raise ZeroLatchError("CountdownLatch.count_down() called when the count is already 0")
            return
        self._count -= 1
        if self._count == 0:
            self._lot.unpark_all()

    def __repr__(self) -> str:
        return f"<CountdownLatch count={self._count} waiters={len(self._lot)}>"
