"""The loop's worker threads: where ``to_thread`` runs blocking functions.

Theory of operation: ``WorkerThreads`` is the loop's thread part. Its pool is made on first use and
shut down at the end of every run. ``submit`` starts a function on a worker and returns the
``ThreadCall`` the awaiting task parks on; the worker's completion is handed back to the loop
thread through the loop's ``call_soon_threadsafe`` (which wakes a blocked selector), where it
reschedules the task. If the task is cancelled meanwhile the call is abandoned: the function keeps
running on its thread (Python cannot stop a thread) and its result is dropped. ``in_flight``
counts the calls that have not completed: while it is not 0, a thread may still wake the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .commands import Park
from .parking import reschedule
from .task import Task


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

    def submit(self, fn: Callable[[], Any], label: str) -> ThreadCall:
        """Start ``fn()`` on a worker; the returned call wakes its parked task when ``fn`` is done."""
        pool = self._pool
        if pool is None:
            pool = self._pool = ThreadPoolExecutor(thread_name_prefix="flowno_core-worker")
        call = ThreadCall(label)
        future = pool.submit(fn)
        self.in_flight += 1
        future.add_done_callback(lambda finished: self._post(self._completed, call, finished))
        return call

    def _completed(self, call: ThreadCall, future: Future[Any]) -> None:
        self.in_flight -= 1
        call.complete(future)

    def close(self, wait: bool) -> None:
        """End of a run: shut the pool down (``wait``: until its workers are done)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        self.in_flight = 0
