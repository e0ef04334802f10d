"""Running blocking functions on worker threads without blocking the loop.

Theory of operation: ``to_thread(fn, *args)`` submits ``fn`` to the loop's thread pool (created on
first use, shut down at the end of the run, so no thread outlives ``run_until_complete``) and parks
the task on a ``ThreadCall``. The worker's completion is handed back to the loop thread through
``EventLoop.call_soon_threadsafe``, which wakes the selector. If the waiting task is cancelled, the
call is abandoned: the function keeps running on its thread (Python cannot stop it) but its result
is dropped and the task gets TaskCancelled at once.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from .commands import Park
from .parking import reschedule
from .task import CURRENT_TASK
from .traps import park_trap

if TYPE_CHECKING:
    from .task import Task

R = TypeVar("R")


class ThreadCall:
    """The waitable for one function running on a worker thread."""

    __slots__ = ("task", "label")

    def __init__(self, label: str) -> None:
        self.task: Task | None = None
        self.label = label

    def park(self, task: "Task") -> None:
        self.task = task

    def abort(self, task: "Task") -> None:
        self.task = None

    def complete(self, future: "Future[Any]") -> None:
        """Runs on the loop thread once the worker is done."""
        task, self.task = self.task, None
        if task is None:
            return
        error = future.exception()
        if error is None:
            reschedule(task, future.result())
        else:
            reschedule(task, None, error)

    def describe(self) -> str:
        return f"thread running {self.label}"


async def to_thread(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """Run a blocking ``fn(*args, **kwargs)`` on a worker thread and return its result.

    The function runs in a copy of the calling task's ContextVars. Cancelling the awaiting task
    abandons the call (its result is dropped).

    Example::

        import time

        async def main():
            await to_thread(time.sleep, 0.1)   # other tasks keep running meanwhile
    """
    task = CURRENT_TASK.get()
    if task is None:
        raise RuntimeError("to_thread() must be awaited inside a flowno_core task")
    loop = task.loop
    call = ThreadCall(getattr(fn, "__qualname__", repr(fn)))
    context = contextvars.copy_context()
    context.run(CURRENT_TASK.set, None)  # a worker thread is not inside the task (or its loop)
    future = loop._thread_pool().submit(context.run, functools.partial(fn, *args, **kwargs))
    loop._threads_in_flight += 1

    def done(finished: "Future[Any]") -> None:
        loop.call_soon_threadsafe(_finish, loop, call, finished)

    future.add_done_callback(done)
    return await park_trap(Park(call))  # type: ignore[no-any-return]


def _finish(loop: Any, call: ThreadCall, future: "Future[Any]") -> None:
    loop._threads_in_flight -= 1
    call.complete(future)
