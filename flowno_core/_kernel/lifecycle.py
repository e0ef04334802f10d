"""The life of one ``run_until_complete``: set-up, outcome, and the clean-up of every run.

Theory of operation: a run owns a selector and a wake-up socketpair (``IOMultiplexer``), maybe a
thread pool, and the SIGINT routing. When it ends, however it ends, the tasks still alive are
cancelled: runnable ones at once (the run is over, so they must not run another step of their own
code), parked ones through their waitable; they get a few rounds to run their clean-up, and what is
still alive is then closed. Finally the selector, the socketpair and the pool are released, so a
loop can run again and a finished loop holds no file descriptors (D5, D13).

``RunLifecycle`` is a mixin of ``EventLoop``, which owns the attributes it uses.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..errors import TaskCancelled
from .current import thread_state
from .instruments import active_loop_instrument
from .io import IOMultiplexer
from .task import PENDING, Task, TaskStatus

logger = logging.getLogger(__name__)

_SHUTDOWN_ROUNDS = 3
_SHUTDOWN_STEPS = 10_000


def cancel_on_its_way(task: Task) -> bool:
    """True if a TaskCancelled is already queued for ``task`` (thrown at once or at its next checkpoint)."""
    return isinstance(task.cancel_pending, TaskCancelled) or isinstance(task.throw_exc, TaskCancelled)


class ShutdownCancel(TaskCancelled):
    """The cancellation the loop delivers to tasks still alive when a run ends."""

    def __str__(self) -> str:
        return "Task was cancelled because the event loop run ended"


class RunLifecycle:
    """Preparing and finishing runs (a mixin of EventLoop)."""

    _ready: deque[Task]
    _tasks: dict[Any, Task]
    _incoming: deque[tuple[Callable[..., Any], tuple[Any, ...]]]
    _mux: IOMultiplexer | None
    _pool: ThreadPoolExecutor | None
    _threads_in_flight: int
    _timers: list[Any]
    _live_timers: int
    _running_thread: int | None
    _stopping: bool
    _exit: tuple[Any, BaseException | None] | None
    _fatal: BaseException | None
    _interrupted: bool
    _root: Task | None
    _wait_for_spawned: bool
    _debug_max_wait_time: float | None
    _instrument: Any

    if TYPE_CHECKING:  # EventLoop's own methods

        def throw_into(self, task: Task, error: BaseException) -> None:  # pragma: no cover - EventLoop's
            ...

        def _run_batch(self) -> None:  # pragma: no cover - EventLoop's
            ...

        def _drain_incoming(self) -> None:  # pragma: no cover - EventLoop's
            ...

        def _start(self, task: Task, parent: Task | None) -> None:  # pragma: no cover - EventLoop's
            ...

        def _task_ended(self, task: Task, status: TaskStatus, result: Any, error: BaseException | None) -> None:  # pragma: no cover
            ...

    def _prepare_run(self, wait_for_spawned: bool, max_wait: float | None) -> None:
        self._running_thread = threading.get_ident()
        thread_state.loop = self
        self._stopping = False
        self._exit = None
        self._fatal = None
        self._interrupted = False
        self._wait_for_spawned = wait_for_spawned
        self._debug_max_wait_time = max_wait
        self._instrument = active_loop_instrument()
        self._mux = IOMultiplexer()

    def _finish_run(self) -> None:
        if self._mux is not None:
            self._mux.close()
            self._mux = None
        if self._pool is not None:
            # after Ctrl-C, do not hang on a worker stuck in a blocking call (it cannot be stopped)
            self._pool.shutdown(wait=not self._interrupted, cancel_futures=True)
            self._pool = None
        self._threads_in_flight = 0
        self._discard_incoming()
        timers, self._timers = self._timers, []
        for _, _, timer in timers:
            timer.cancel()  # a handle cancelled after the run must not touch the next run's count
        self._live_timers = 0
        self._running_thread = None
        thread_state.loop = None
        self._root = None
        self._instrument = None

    def _outcome(self, root: Task, join: bool) -> Any:
        if self._fatal is not None:
            raise self._fatal
        if self._interrupted:
            raise KeyboardInterrupt
        if self._exit is not None:
            value, exception = self._exit
            if exception is not None:
                raise exception
            return value if join else None
        if not join:
            return None
        if root.status is TaskStatus.FINISHED:
            return root.result
        if root.error is not None and not isinstance(root.error, ShutdownCancel):
            raise root.error
        raise RuntimeError("Event loop exited without completing the root task.")

    def _shutdown(self) -> None:
        """Cancel what is still alive, let it clean up for a few rounds, close the rest (D13)."""
        self._stopping = False
        for _ in range(_SHUTDOWN_ROUNDS):
            alive = [task for task in self._tasks.values()]
            if not alive:
                break
            for task in alive:
                if task.status is PENDING:
                    error = ShutdownCancel(task.handle)
                    if task.parked_in is None and not isinstance(task.throw_exc, TaskCancelled):
                        # runnable: the run is over, so what it was woken with no longer matters;
                        # it must not run one more step of its own code before it sees the cancel
                        task.cancel_pending = None
                        task.send_value = None
                        task.throw_exc = error
                    elif not cancel_on_its_way(task):
                        self.throw_into(task, error)
            steps = 0
            budget = max(_SHUTDOWN_STEPS, 8 * len(alive))
            while self._ready and steps < budget:
                steps += len(self._ready)
                self._run_batch()
                self._stopping = False
                if self._incoming:
                    self._drain_incoming()
        for task in list(self._tasks.values()):
            self._close_task(task)
        self._ready.clear()

    def _discard_incoming(self) -> None:
        """Drop what other threads queued too late for this run; a task among it is closed, not leaked."""
        incoming = self._incoming
        while incoming:
            fn, args = incoming.popleft()
            if fn == self._start:
                self._close_task(args[0])

    def close_task(self, task: Task) -> None:
        """End a task now by closing its coroutine where it waits (``finally`` blocks run, but they
        cannot await). Use ``cancel`` when the task needs to await during its clean-up."""
        if task.status is PENDING:
            self._close_task(task)

    def _close_task(self, task: Task) -> None:
        waitable = task.parked_in
        if waitable is not None:
            waitable.abort(task)
            task.parked_in = None
        try:
            task.run(task.coro.close)
        except BaseException as error:  # noqa: BLE001 - a broken finally block must not stop shutdown
            logger.debug("closing task %s raised %r", task.name, error)
        if task.status is PENDING:
            self._task_ended(task, TaskStatus.CANCELLED, None, ShutdownCancel(task.handle))

    def _on_sigint(self) -> bool:
        """Signal handler body: returns False when a second Ctrl-C must raise at once."""
        if self._interrupted:
            return False
        self._interrupted = True
        self._stopping = True
        if self._mux is not None:
            self._mux.wake()
        return True

    # ------------------------------------------------------------------ the main loop
