"""The loop's worker threads: where ``to_thread`` runs blocking functions.

Theory of operation: ``WorkerThreads`` is the loop's thread part. Its pool is made on first use and
shut down at the end of every run. ``call`` starts a function on a worker and parks the awaiting
task on a ``ThreadCall``; the worker's completion is handed back to the loop thread through the
loop's ``call_soon_threadsafe`` (which wakes a blocked selector), where it reschedules the task. If the task is cancelled meanwhile the call is abandoned: the function keeps
running on its thread (Python cannot stop a thread) and its result is dropped. ``in_flight``
counts the calls that have not completed: while it is not 0, a thread may still wake the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .commands import Park
from .parking import reschedule
from .task import Task
from .traps import park_trap

R = TypeVar("R")


class ThreadCall:
    """The waitable for one function running on a worker thread."""

    __slots__ = ("task", "label", "park_command")

    def __init__(self, label: str) -> None:
        self.task: Task | None = None
        self.label = label
        self.park_command = Park(self)

    def park(self, task: Task) -> None:
        self.task = task

    def abort(self, task: Task) -> None:
        self.task = None

    def complete(self, future: Future[Any]) -> None:
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


class WorkerThreads:
    """The loop's worker-thread part: a pool made on first use, closed at the end of each run."""

    __slots__ = ("_post", "_pool", "in_flight")

    def __init__(self, post: Callable[..., None]) -> None:
        self._post = post  # the loop's call_soon_threadsafe
        self._pool: ThreadPoolExecutor | None = None
        self.in_flight = 0  # calls submitted and not completed yet

    async def call(self, fn: Callable[[], R], label: str) -> R:
        """Run ``fn()`` on a worker; the calling task parks until it is done and gets its result."""
        pool = self._pool
        if pool is None:
            pool = self._pool = ThreadPoolExecutor(thread_name_prefix="flowno_core-worker")
        call = ThreadCall(label)
        future = pool.submit(fn)
        self.in_flight += 1
        future.add_done_callback(lambda finished: self._post(self._completed, call, finished))
        return await park_trap(call.park_command)  # type: ignore[no-any-return]

    def _completed(self, call: ThreadCall, future: Future[Any]) -> None:
        self.in_flight -= 1
        call.complete(future)

    def close(self, wait: bool) -> None:
        """End of a run: shut the pool down (``wait``: until its workers are done)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        self.in_flight = 0
