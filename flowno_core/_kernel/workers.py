"""The loop's worker threads: where ``to_thread`` runs blocking functions.

Theory of operation: ``WorkerThreads`` is the loop's thread part. Its pool is made on first use and
let go at the end of every run. ``call`` starts a function on a worker and parks the awaiting task
on a ``ThreadCall``; the worker's completion is handed back to the loop thread through the loop's
``call_soon_threadsafe`` (which wakes a blocked selector), where it reschedules the task.
``waiting`` counts the tasks parked on a call: while it is not 0 a worker may still wake the loop.

Python cannot stop a running thread. If the waiting task is cancelled, or the run ends, the call
is abandoned: the function keeps running on its worker and its result is dropped (the worker does
not even hand it back). The end of a run never waits for a worker that is still busy, so a worker
blocked in ``time.sleep(30)`` or a ``queue.get()`` does not delay ``run_until_complete``; idle
workers are joined, so finished work leaves no thread behind. (A worker still blocked when the
interpreter exits is waited for then, as for any ``concurrent.futures`` worker.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .commands import Park
from .parking import reschedule
from .task import Task
from .traps import park_trap

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

R = TypeVar("R")


class ThreadCall:
    """The waitable for one function running on a worker thread."""

    __slots__ = ("workers", "task", "label", "park_command", "abandoned")

    def __init__(self, workers: WorkerThreads, label: str) -> None:
        self.workers = workers
        self.task: Task | None = None
        self.label = label
        self.park_command = Park(self)
        self.abandoned = False  # read by the worker thread: no need to hand the result back

    def park(self, task: Task) -> None:
        self.task = task
        self.workers.waiting += 1

    def abort(self, task: Task) -> None:
        self.abandoned = True
        if self.task is not None:
            self.task = None
            self.workers.waiting -= 1

    def complete(self, future: Future[Any]) -> None:
        """Runs on the loop thread once the worker is done."""
        task = self.task
        if task is None:
            return
        self.task = None
        self.workers.waiting -= 1
        error = future.exception()
        if error is None:
            reschedule(task, future.result())
        else:
            reschedule(task, None, error)

    def describe(self) -> str:
        return f"thread running {self.label}"


class WorkerThreads:
    """The loop's worker-thread part: a pool made on first use, let go at the end of each run."""

    __slots__ = ("_post", "_pool", "_futures", "waiting")

    def __init__(self, post: Callable[..., None]) -> None:
        self._post = post  # the loop's call_soon_threadsafe
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[Any]] = set()  # calls of this run that may still be running
        self.waiting = 0  # tasks parked on a call

    async def call(self, fn: Callable[[], R], label: str) -> R:
        """Run ``fn()`` on a worker; the calling task parks until it is done and gets its result."""
        pool = self._pool
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor  # (imported on first use: most flows start no thread)

            pool = self._pool = ThreadPoolExecutor(thread_name_prefix="flowno_core-worker")
        call = ThreadCall(self, label)
        future = pool.submit(fn)
        futures = self._futures
        futures.add(future)
        future.add_done_callback(functools.partial(self._finished, futures, call))
        return await park_trap(call.park_command)  # type: ignore[no-any-return]

    def _finished(self, futures: set[Future[Any]], call: ThreadCall, future: Future[Any]) -> None:
        """Runs on the worker thread (or at once, if ``fn`` was already done)."""
        futures.discard(future)
        if not call.abandoned:
            self._post(call.complete, future)

    def close(self) -> None:
        """End of a run: let the pool go. Idle workers are joined; a busy one is left to finish
        on its own (its call was abandoned with its task)."""
        pool, self._pool = self._pool, None
        futures, self._futures = self._futures, set()
        if pool is not None:
            busy = any(not future.done() for future in futures)
            pool.shutdown(wait=not busy, cancel_futures=True)
