"""``to_thread``: run a blocking function on one of the loop's worker threads.

Theory of operation: ``to_thread`` is async code above the loop. It runs the function through
``EventLoop.run_in_thread`` (the loop's ``WorkerThreads`` part, see ``workers``) in a copy of the
calling task's ContextVars from which the current task is removed (a worker thread is not inside
the task, or its loop). Cancelling the task, or the end of the run, abandons the call: the function
keeps running, its result is dropped, and the run does not wait for it.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .loop import current_event_loop
from .task import CURRENT_TASK

R = TypeVar("R")


async def to_thread(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """Run a blocking ``fn(*args, **kwargs)`` on a worker thread and return its result.

    The function runs in a copy of the calling task's ContextVars. Python cannot stop a running
    thread: cancelling the awaiting task, or the end of the run, abandons the call. The function
    goes on running on its worker, its result is dropped, and ``run_until_complete`` returns
    without waiting for it (the interpreter still waits for it when it exits).

    Example::

        import time

        async def main():
            await to_thread(time.sleep, 0.1)   # other tasks keep running meanwhile
    """
    loop = current_event_loop()
    if loop is None or CURRENT_TASK.get() is None:
        raise RuntimeError("to_thread() must be awaited inside a flowno_core task")
    context = contextvars.copy_context()
    context.run(CURRENT_TASK.set, None)  # a worker thread is not inside the task (or its loop)
    work = functools.partial(context.run, fn, *args, **kwargs)
    return await loop.run_in_thread(work, getattr(fn, "__qualname__", repr(fn)))
