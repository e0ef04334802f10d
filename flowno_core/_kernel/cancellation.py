"""Cancellation: of one task (and of what it waits on), and of every task alive when a run ends.

Theory of operation
-------------------
* ``throw_into`` delivers an exception to a pending task. A parked task leaves its waitable first
  (``abort``), so it is in no wait structure any more and no stale wake-up can reach it, and is made
  runnable with the exception. A task that has not started gets it before its first step. A
  runnable or running task gets it at its next checkpoint (``cancel_pending``, thrown when it next
  yields), so a wake-up that handed it something (a lock, a queue item) is never lost.
* A task gets at most one cancel (D11): ``cancel_task`` marks ``task.cancel_sent``; a later cancel,
  and the end of the run, throw nothing more into it. A task that catches its TaskCancelled has
  chosen to finish what it is doing.
* The end of a run (``Cleanup``): every task still alive gets its one cancel, a ``ShutdownCancel``
  (a runnable task before it runs another step of its own code, a task started during the clean-up
  before its first step). The loop then keeps running as usual, timers (a virtual clock jumps),
  sockets, worker threads and calls from other threads included, until every task has ended. A
  task is interrupted a second time, closed where it waits (GeneratorExit), only when its clean-up
  cannot make progress any more: the loop is stalled (nothing runnable, nothing outside that can
  wake it), the clean-up took longer than the loop's ``cleanup_timeout`` (real seconds), or a
  Ctrl-C (or a KeyboardInterrupt/SystemExit escaping a task) hurried it.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import TaskCancelled
from .current import not_started
from .parking import reschedule
from .task import PENDING, CancelRequest, Task


class ShutdownCancel(TaskCancelled):
    """The cancellation the loop delivers to tasks still alive when a run ends."""

    def __str__(self) -> str:
        return "Task was cancelled because the event loop run ended"


def throw_into(task: Task, error: BaseException) -> None:
    """Deliver ``error`` to a pending task: at once if it is parked, else at its next checkpoint.

    It replaces an exception already waiting for that checkpoint (a timeout expiry).
    """
    waitable = task.parked_in
    if waitable is not None:
        waitable.abort(task)
        reschedule(task, None, error)
    elif not_started(task.coro):
        task.send_value = None
        task.throw_exc = error
    else:
        task.cancel_pending = error


def cancel_task(task: Task) -> CancelRequest[Any]:
    """Cancel ``task`` once: TaskCancelled is thrown where it waits (it wins over a timeout).

    The request is truthy while the task has not ended, also when it was cancelled before (then
    nothing more is thrown).
    """
    if task.status is not PENDING:
        return CancelRequest(task, False)
    if not task.cancel_sent:
        task.cancel_sent = True
        throw_into(task, TaskCancelled(task.handle))
    return CancelRequest(task, True)


def cancel_for_shutdown(task: Task) -> None:
    """Give a task alive at the end of a run its cancel; a runnable one gets it before it runs again."""
    if task.status is not PENDING:
        return
    if task.cancel_sent:
        pending = task.cancel_pending
        if isinstance(pending, TaskCancelled) and task.parked_in is None:
            task.cancel_pending = None  # its cancel waits for a checkpoint: deliver it now
            task.send_value = None
            task.throw_exc = pending
        return
    task.cancel_sent = True
    error = ShutdownCancel(task.handle)
    if task.parked_in is None:
        # runnable: the run is over, so what it was woken with no longer matters; it must not run
        # one more step of its own code before it sees the cancel
        task.cancel_pending = None
        task.send_value = None
        task.throw_exc = error
    else:
        throw_into(task, error)


class Cleanup:
    """The clean-up of one run: who is left, and how long it may still take."""

    __slots__ = ("_tasks", "_deadline")

    def __init__(self, tasks: dict[Any, Task], timeout: float | None) -> None:
        self._tasks = tasks  # the loop's living tasks (tasks leave it as they end)
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def cancel_all(self) -> None:
        """Give every task still alive its one cancel."""
        for task in list(self._tasks.values()):
            cancel_for_shutdown(task)

    def admit(self, task: Task) -> None:
        """A task started during the clean-up: it is cancelled before its first step."""
        cancel_for_shutdown(task)

    def time_left(self) -> float | None:
        """Real seconds the clean-up may still take (None: no bound)."""
        deadline = self._deadline
        return None if deadline is None else max(deadline - time.monotonic(), 0.0)

    def over(self) -> bool:
        """True once every task has ended or the time is up."""
        return not self._tasks or (self._deadline is not None and time.monotonic() >= self._deadline)
