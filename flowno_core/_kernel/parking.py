"""The one parking mechanism under every blocking primitive.

Theory of operation: a task blocks by yielding ``Park(waitable)``. The kernel calls
``waitable.park(task)`` and records ``task.parked_in = waitable``. Whoever makes the wait end calls
``reschedule(task, value)``, which clears ``parked_in`` and appends the task to the run queue with
the value to send (or the exception to throw). Cancelling a parked task calls
``task.parked_in.abort(task)`` first, so the task is no longer in any wait structure and can never
receive a stale wake-up (D11).

``ParkingLot`` is the FIFO waitable used by events, locks, conditions, queues, latches and the flow
runtime (a task is itself the waitable of its joiners). Invariant: a task is in at most one
waitable at a time, and it is in the run queue if and only if it is neither parked nor running nor
finished.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Protocol

from .commands import Park
from .task import Task


class Waitable(Protocol):
    """Something a task can park on: the kernel calls ``park`` and, on cancellation, ``abort``."""

    def park(self, task: Task) -> None: ...

    def abort(self, task: Task) -> None: ...


def reschedule(task: Task, value: Any = None, error: BaseException | None = None, front: bool = False) -> None:
    """Make a parked task runnable: it will be resumed with ``value`` (or have ``error`` thrown).

    Must be called on the task's loop thread (from a task, a command handler or a hook).
    ``front=True`` puts it at the head of the run queue (used for stream reads and cancels).
    """
    task.parked_in = None
    task.send_value = value
    task.throw_exc = error
    if front:
        task.run_queue.appendleft(task)
    else:
        task.run_queue.append(task)


class ParkingLot:
    """A FIFO of parked tasks with O(1) park, abort and wake.

    Example (inside a primitive)::

        lot = ParkingLot()
        await park_trap(lot.park_command)   # in the waiting task
        lot.unpark_one(value)               # elsewhere, on the loop thread
    """

    __slots__ = ("_waiters", "park_command", "label", "__weakref__")

    def __init__(self, label: str = "a parking lot") -> None:
        self.label = label  # what waiting here means, in words (for deadlock and debug messages)
        self._waiters: OrderedDict[Task, None] = OrderedDict()
        self.park_command = Park(self)

    # -- the waitable protocol (called by the kernel) -------------------------------------------
    def park(self, task: Task) -> None:
        self._waiters[task] = None

    def abort(self, task: Task) -> None:
        self._waiters.pop(task, None)

    # -- waking --------------------------------------------------------------------------------
    def unpark_one(self, value: Any = None, error: BaseException | None = None, front: bool = False) -> Task | None:
        """Wake the oldest waiter; returns it, or None if nobody waits."""
        if not self._waiters:
            return None
        task, _ = self._waiters.popitem(last=False)
        reschedule(task, value, error, front)
        return task

    def unpark_all(self, value: Any = None, error: BaseException | None = None) -> int:
        """Wake every waiter in FIFO order; returns how many were woken."""
        count = len(self._waiters)
        while self._waiters:
            task, _ = self._waiters.popitem(last=False)
            reschedule(task, value, error)
        return count

    def pop_oldest(self) -> Task | None:
        """Remove the oldest waiter without waking it (to move it to another waitable)."""
        if not self._waiters:
            return None
        task, _ = self._waiters.popitem(last=False)
        task.parked_in = None
        return task

    def transfer(self, task: Task) -> None:
        """Park an already-parked-elsewhere task here instead (its old waitable must be left)."""
        self._waiters[task] = None
        task.parked_in = self

    def __len__(self) -> int:
        return len(self._waiters)

    def __bool__(self) -> bool:
        return bool(self._waiters)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._waiters))

    def describe(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"<ParkingLot {self.label!r} waiters={len(self._waiters)}>"
