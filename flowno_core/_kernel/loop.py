"""The event loop: run queue, timers, selector, threads and the command table.

Theory of operation
-------------------
* The run queue ``_ready`` holds Task objects; what to send or throw travels on the task
  (``send_value`` / ``throw_exc``), so queueing allocates nothing.
* ``_run_batch`` resumes every task that was runnable when the batch began, one step each, in FIFO
  order (fair interleaving), then the loop looks at threads, timers and sockets. The selector is
  only polled without blocking when some task waits on a socket; otherwise a busy loop makes no
  system calls at all.
* The loop is made of parts it owns, each with a small interface: the timer heap
  (``TimerQueue``, see ``timers``), the worker threads (``WorkerThreads``, see ``workers``), the
  selector and wake-up socketpair of the current run (``IOMultiplexer``, see ``io``), the record
  of the current run (``Run``, see ``lifecycle``) and, once the run has ended, its clean-up
  (``Cleanup``, see ``cancellation``). The run queue, the living tasks and the command table are
  the loop's own.
* A task's yielded command is handled through ``_dispatch`` (keyed by the command's class). Unknown
  objects are thrown back into the task as ``UnknownCommandError``.
* Blocking = ``Park`` on a waitable (see ``parking``). Cancelling takes a task out of its wait and
  delivers one TaskCancelled, at most once in the task's life (see ``cancellation``, D11).
* *Outside waits* are tasks parked on something only another party can end: a socket, a worker
  thread, or a primitive fed from other threads that wraps its wait in ``outside_wait()`` (an
  open ``Inlet``). While there is one (``waits_on_outside()``) the loop blocks for the wake-up
  instead of calling stall handlers, and a virtual clock waits for it as for real I/O.
* When nothing is runnable and no timer or outside wait can wake anything, the loop calls its
  *stall handlers* (the flow runtime detects deadlocks there) and otherwise blocks on the wake-up
  socket: another thread may still call ``create_task``.
* Every run ends with a clean-up: each task still alive gets its one cancel and the main loop keeps
  running, in clean-up mode (no stall handlers; a stall or ``cleanup_timeout`` ends it), until
  they have ended; what is left is closed, including tasks other threads queued too late for the
  run. Then the selector, the wake-up socketpair and the thread pool are released (D5, D13) and
  the loop can run again.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from contextlib import AbstractContextManager
from types import CoroutineType
from typing import Any, TypeVar, overload

from ..errors import TaskCancelled, UnknownCommandError
from .cancellation import Cleanup, ShutdownCancel, cancel_task, throw_into
from .clock import MonotonicClock, VirtualClock
from .commands import SLEEP_ZERO, Exit, Park, Sleep, Spawn, WaitIO
from .current import check_coroutine, is_coroutine_like
from .instruments import active_loop_instrument
from .io import IOMultiplexer
from .lifecycle import Run
from .parking import reschedule
from .signals import SigintRouting
from .task import PENDING, CancelRequest, Task, TaskHandle, TaskStatus
from .timers import TimerHandle, TimerQueue
from .workers import WorkerThreads

__all__ = ["EventLoop", "current_event_loop"]

logger = logging.getLogger(__name__)
FINISHED = TaskStatus.FINISHED

_thread_state = threading.local()  # .loop: the loop running on this thread, if any

R = TypeVar("R")


def _events() -> Any:
    """The records the task hooks receive (imported on first use: a run without instruments never
    loads them)."""
    from . import instrument_events

    return instrument_events


_BATCH_STEPS = 64
_INLINE_STEPS = 256
_INLINE_DEPTH = 8

CLEANUP_TIMEOUT = 5.0
"""Default ``EventLoop.cleanup_timeout``: real seconds the tasks alive at the end of a run may take
to clean up (awaiting in ``finally`` blocks) before they are closed."""


def current_event_loop() -> EventLoop | None:
    """The loop running on this thread (so, inside a task, the task's loop), else None."""
    loop: EventLoop | None = getattr(_thread_state, "loop", None)
    return loop


class _OutsideWaits:
    """The count of tasks in an ``EventLoop.outside_wait()`` block (a context manager)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> None:
        self.count += 1

    def __exit__(self, *exc_info: object) -> None:
        self.count -= 1


class EventLoop:
    """flowno_core's event loop: runs coroutines that yield flowno_core commands.

    Example::

        from flowno_core import EventLoop, sleep, spawn

        async def child(x):
            await sleep(0.01)
            return x * 2

        async def main():
            handle = await spawn(child(21))
            return await handle.join()

        assert EventLoop().run_until_complete(main(), join=True) == 42

    When a run ends, each task still alive is cancelled once and may clean up, awaiting in its
    ``finally`` blocks, while the loop keeps running; it is closed (GeneratorExit where it waits)
    only when its clean-up cannot make progress any more or takes longer than
    ``cleanup_timeout`` real seconds (default ``CLEANUP_TIMEOUT``, 5 s; ``None``: no bound; ``0``:
    the clean-up runs only until it first waits).
    """

    def __init__(self, clock: MonotonicClock | VirtualClock | None = None) -> None:
        self._clock = clock if clock is not None else MonotonicClock()
        # the loop's parts
        self._timers = TimerQueue(self._clock)
        self._workers = WorkerThreads(self.call_soon_threadsafe)
        self._outside_waits = _OutsideWaits()
        self._at_run_end: list[Callable[[], None]] = []
        self._mux: IOMultiplexer | None = None  # exists while a run is going on
        self._run: Run | None = None  # the current run
        self._cleanup: Cleanup | None = None  # the current run's clean-up, once the run has ended
        # its own state
        self._ready: deque[Task] = deque()  # the run queue
        self._tasks: dict[Any, Task] = {}  # living tasks, by coroutine
        self._incoming: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()  # from other threads
        self._stall_handlers: list[Callable[[], float | None]] = []
        self._inline_budget = 0
        self._inline_depth = 0
        self.steps = 0  # batches run so far (lets stall handlers tell one stall episode from the next)
        self._running_thread: int | None = None
        self._stopping = False  # the current run (or its clean-up) must end after the running step
        self._sigint_unseen = False  # a Ctrl-C the loop has not acted on yet
        self._instrument: Any = None  # the current run's loop instrument (None: uninstrumented steps)
        self.cleanup_timeout: float | None = CLEANUP_TIMEOUT
        self._dispatch: dict[type, Callable[[Task, Any], None]] = {
            Sleep: self._do_sleep,
            Park: self._do_park,
            Spawn: self._do_spawn,
            Exit: self._do_exit,
            WaitIO: self._do_wait_io,
        }

    # ------------------------------------------------------------------ public API
    @property
    def clock(self) -> MonotonicClock | VirtualClock:
        return self._clock

    def time(self) -> float:
        """The loop clock's current time."""
        return self._clock.now()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Call ``fn(*args)`` on the loop thread after ``delay`` seconds of loop time.

        Returns a handle with ``cancel()``. The callback runs outside any task.
        """
        return self._timers.call_later(delay, fn, args)

    def run_in_thread(self, fn: Callable[[], R], label: str | None = None) -> Coroutine[Any, Any, R]:
        """Await ``fn()`` run on one of the loop's worker threads (inside a task of this loop).

        ``to_thread`` is built on it (and adds the caller's ContextVars). Cancelling the awaiting
        task, or the end of the run, abandons the call: ``fn`` keeps running on its thread (Python
        cannot stop a thread), its result is dropped, and the run does not wait for it.
        """
        return self._workers.call(fn, label if label is not None else getattr(fn, "__qualname__", repr(fn)))

    def is_running(self) -> bool:
        return self._running_thread is not None

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the thread running this loop (code there may act at once)."""
        return self._running_thread == threading.get_ident()

    def create_task(self, raw_task: Coroutine[Any, Any, R] | Generator[Any, Any, R]) -> TaskHandle[R]:
        """Queue ``raw_task`` as a new task. Thread-safe: from another thread it wakes the loop."""
        check_coroutine(raw_task, "create_task")
        task = Task(raw_task, self, self._ready)
        if self._running_thread == threading.get_ident():
            self._start(task, None)
        else:
            self.call_soon_threadsafe(self._start, task, None)
        return task.handle

    def start_task(self, coro: Any, owner: Any = None) -> Task:
        """Start a task from the loop thread and return the kernel Task (for runtimes built on the
        kernel; ``owner`` is what ``Task.owner`` reports, e.g. the node the task runs)."""
        task = Task(coro, self, self._ready)
        task.owner = owner
        self._start(task, None)
        return task

    def run_early(self, task: Task, early: Callable[[Task], bool]) -> None:
        """Move ``task``, just made ready (the last of the run queue), ahead of the ready tasks, but
        behind those at the head for which ``early`` is true (so early tasks keep their order)."""
        ready = self._ready
        if not ready or ready[-1] is not task:
            return
        ready.pop()
        position = 0
        for queued in ready:
            if not early(queued):
                break
            position += 1
        ready.insert(position, task)

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread at its next iteration (wakes a blocked loop; safe
        from a signal handler, which runs on the loop's own thread while it waits in select)."""
        self._incoming.append((fn, args))
        mux = self._mux
        if mux is not None and (mux.polling or self._running_thread != threading.get_ident()):
            mux.wake()

    def cancel(self, raw_task: Any) -> bool:
        """Cancel the task running ``raw_task``; False if it already ended (or is unknown)."""
        task = self._tasks.get(raw_task)
        if task is None:
            return False
        return bool(self.cancel_task(task))

    def cancel_task(self, task: Task) -> CancelRequest[Any]:
        """Cancel ``task`` (at most once in its life; see ``cancellation``)."""
        return cancel_task(task)

    def throw_into(self, task: Task, error: BaseException) -> None:
        """Deliver ``error`` to a pending task: at once if it is parked, else at its next checkpoint."""
        throw_into(task, error)

    def stop(self, value: Any = None, exception: BaseException | None = None) -> None:
        """End the current run once the running step is over (callable from tasks and callbacks).

        ``run_until_complete`` then raises ``exception``, or returns ``value`` (with ``join=True``);
        tasks still alive are cancelled and may clean up. Once the run has ended (during that
        clean-up) it does nothing: the first ending wins.
        """
        run = self._run
        if run is not None and self._cleanup is None:
            run.end_with(value, exception)
            self._stopping = True

    def outside_wait(self) -> AbstractContextManager[None]:
        """Count the calling task's wait, inside the ``with`` block, as one only another thread
        can end (for primitives fed from other threads, like ``Inlet``).

        While such a wait (or a socket wait, or a worker thread a task waits for) is pending, the
        loop does not call its stall handlers but blocks until it is woken, and a virtual clock
        gives it ``io_grace`` before jumping. Call on the loop thread.

        Example (inside a primitive; the other thread wakes the task through
        ``call_soon_threadsafe``)::

            with loop.outside_wait():
                await park_trap(lot.park_command)
        """
        return self._outside_waits

    def at_run_end(self, release: Callable[[], None]) -> None:
        """Call ``release()`` when the current run ends (once; after the node tasks are gone), for
        primitives that hold something for a run, such as the asyncio helper of ``from_asyncio``."""
        self._at_run_end.append(release)

    def waits_on_outside(self) -> bool:
        """True while something outside the loop may still wake a task: a socket wait, a worker
        thread a task waits for, or an ``outside_wait()`` (a task waiting on an open ``Inlet``)."""
        mux = self._mux
        return bool((mux is not None and mux.waiting) or self._workers.waiting or self._outside_waits.count)

    def has_living_tasks(self) -> bool:
        """True while some task has not ended."""
        return bool(self._tasks)

    def living_tasks(self) -> list[Task]:
        return list(self._tasks.values())

    def add_stall_handler(self, handler: Callable[[], float | None]) -> None:
        """Call ``handler()`` whenever nothing can run and nothing inside the loop can wake a task.

        The handler may schedule work, stop the loop, or return a number of (real) seconds after
        which it wants to be asked again if the loop is still stalled; otherwise the loop blocks
        until another thread wakes it.
        """
        self._stall_handlers.append(handler)

    def remove_stall_handler(self, handler: Callable[[], float | None]) -> None:
        try:
            self._stall_handlers.remove(handler)
        except ValueError:
            pass

    @overload
    def run_until_complete(
        self,
        root_task: Coroutine[Any, Any, R] | Generator[Any, Any, R],
        join: bool = ...,
        wait_for_spawned_tasks: bool = ...,
        _debug_max_wait_time: float | None = ...,
    ) -> R | None: ...

    @overload
    def run_until_complete(self, root_task: Any, *args: Any, **kwargs: Any) -> Any: ...

    def run_until_complete(
        self,
        root_task: Any,
        join: bool = False,
        wait_for_spawned_tasks: bool = True,
        _debug_max_wait_time: float | None = None,
    ) -> Any:
        """Run ``root_task`` (and everything it spawns) to completion.

        Returns the root's value with ``join=True`` (re-raising its exception), else None.
        ``wait_for_spawned_tasks=False`` returns as soon as the root ends. Tasks still alive at
        the end are cancelled and may clean up (see the class docstring). An ``exit()`` ends the
        run early.
        """
        if getattr(_thread_state, "loop", None) is not None:
            if is_coroutine_like(root_task):
                root_task.close()
            raise RuntimeError(
                "run_until_complete() called while an event loop is already running on this thread; "
                "inside a task, await the coroutine (or spawn it) instead"
            )
        if self._running_thread is not None:
            if is_coroutine_like(root_task):
                root_task.close()
            raise RuntimeError("this EventLoop is already running in another thread")
        check_coroutine(root_task, "run_until_complete")
        run = self._begin_run(Task(root_task, self, self._ready), wait_for_spawned_tasks, _debug_max_wait_time)
        try:
            with SigintRouting(self._on_sigint):
                try:
                    self._main_loop()
                finally:
                    self._clean_up()
        finally:
            self._end_run()
        return run.outcome(join)

    # ------------------------------------------------------------------ run lifecycle
    def _begin_run(self, root: Task, wait_for_spawned: bool, max_wait: float | None) -> Run:
        self._running_thread = threading.get_ident()
        _thread_state.loop = self
        self._stopping = False
        self._instrument = active_loop_instrument()
        self._mux = IOMultiplexer()
        run = self._run = Run(root, wait_for_spawned, max_wait)
        self._start(root, None)
        return run

    def _end_run(self) -> None:
        """Release what the run held (selector, socketpair, worker threads, timers): D5."""
        if self._mux is not None:
            self._mux.close()
            self._mux = None
        self._workers.close()  # never waits for a worker still busy in a call
        ending, self._at_run_end = self._at_run_end, []
        for release in ending:
            release()
        self._discard_incoming()
        self._timers.clear()
        self._running_thread = None
        _thread_state.loop = None
        self._run = None
        self._instrument = None

    def _clean_up(self) -> None:
        """The run is over: cancel each task still alive once and keep the loop running while they
        clean up; close what is left when that cannot progress any more (D13)."""
        cleanup = self._cleanup = Cleanup(self._tasks, self.cleanup_timeout)
        self._stopping = False  # the ending (and a Ctrl-C) has been acted on
        self._sigint_unseen = False
        try:
            cleanup.cancel_all()
            self._main_loop()
        finally:
            for task in list(self._tasks.values()):
                self._close_task(task)
            self._ready.clear()
            self._cleanup = None

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
        """Signal handler body: Ctrl-C ends the run (or hurries its clean-up). Returns False when
        the loop has not acted on the previous Ctrl-C yet: that one must raise at once."""
        run = self._run
        if run is None or self._sigint_unseen:
            return False
        self._sigint_unseen = True
        run.interrupted = True
        self._stopping = True
        if self._mux is not None:
            self._mux.wake()
        return True

    # ------------------------------------------------------------------ the main loop
    def _main_loop(self) -> None:
        """Run tasks, other threads' calls, timers and sockets until the run ends; in a clean-up,
        until every task has ended or the clean-up is over."""
        ready = self._ready
        clock = self._clock
        timers = self._timers
        cleanup = self._cleanup
        while True:
            if self._incoming:
                self._drain_incoming()
            if ready:
                self._run_batch()
                if self._stopping:
                    return
                if timers.live:
                    timers.fire_due(clock.now())
                mux = self._mux
                if mux is not None and mux.waiting:
                    mux.poll(0)
                if cleanup is not None and cleanup.over():
                    return
            elif self._stopping or not self._wait(cleanup):
                return

    def _wait(self, cleanup: Cleanup | None) -> bool:
        """Nothing is runnable: wait for a timer, a socket, a worker thread or another thread's call.

        Returns False when there is nothing left to wait for: no task is left or, in a clean-up,
        it is over or stalled (nothing can wake the tasks still cleaning up).
        """
        mux = self._mux
        run = self._run
        assert mux is not None and run is not None
        if cleanup is None:
            cap = run.max_wait
        elif cleanup.over():
            return False
        else:
            cap = cleanup.time_left()
        clock = self._clock
        timers = self._timers
        io_pending = self.waits_on_outside()
        if timers.live:
            deadline = timers.next_deadline()
            timer_wait = clock.real_wait(max(deadline - clock.now(), 0.0), io_pending)
            if cap is not None and timer_wait > cap:
                if cleanup is None:
                    logger.error("next timer is %.3fs away, longer than _debug_max_wait_time=%s", timer_wait, cap)
                timer_wait = cap
            woke = mux.poll(timer_wait)
            if clock.is_virtual and not woke and not self._incoming and not self._ready:
                clock.jump_to(deadline)
            timers.fire_due(clock.now())
            return True
        if not self._tasks:
            return False
        if not io_pending:
            if cleanup is not None:
                return False
            cap = self._ask_stall_handlers(cap)
            if self._ready or self._incoming or self._stopping:
                return True
        mux.poll(cap)
        return True

    def _ask_stall_handlers(self, wait: float | None) -> float | None:
        """Call every stall handler; returns the shortest wait one asked for (or ``wait``)."""
        for handler in list(self._stall_handlers):
            again = handler()
            if again is not None and (wait is None or again < wait):
                wait = again
        return wait

    def _drain_incoming(self) -> None:
        incoming = self._incoming
        while incoming:
            fn, args = incoming.popleft()
            fn(*args)

    def _run_batch(self) -> None:
        """Resume each task that is runnable now, one step each (the hot path)."""
        ready = self._ready
        popleft = ready.popleft
        step = self._step
        instrument = self._instrument
        self.steps += 1
        self._inline_budget = _INLINE_STEPS
        # Every task runnable now gets one step, in FIFO order. Tasks woken meanwhile run in the same
        # batch (still FIFO) up to a small extra budget, so a busy pipeline does not pay a main-loop
        # iteration per step; a ``sleep(0)`` ends the extension, so yielding always lets due timers
        # and ready sockets in.
        snapshot = len(ready)
        extra = _BATCH_STEPS
        while ready:
            if snapshot:
                snapshot -= 1
            elif extra:
                extra -= 1
            else:
                break
            task = popleft()
            if task.throw_exc is not None or instrument is not None:
                if step(task, instrument):
                    extra = 0
            else:  # the common case, inlined: send, then park or yield
                value = task.send_value
                task.send_value = None
                try:
                    command = task.run(task.send, value)
                except StopIteration as returned:
                    self._task_ended(task, FINISHED, returned.value, None)
                except BaseException as outcome:  # noqa: BLE001 - sorted out by _task_raised
                    self._task_raised(task, outcome)
                else:
                    if task.cancel_pending is not None:
                        self._cancel_at_checkpoint(task, command)
                    elif command.__class__ is Park:
                        waitable = command.waitable
                        waitable.park(task)
                        task.parked_in = waitable
                    elif command is SLEEP_ZERO:
                        task.send_value = 0.0
                        ready.append(task)
                        extra = 0
                    else:
                        self._handle(task, command)
            if self._stopping:
                return

    def _step(self, task: Task, instrument: Any) -> bool:
        """Resume ``task`` once and handle what it yields; True if it yielded with ``sleep(0)``."""
        error = task.throw_exc
        try:
            if error is None:
                value = task.send_value
                task.send_value = None
                if instrument is not None:
                    instrument.on_task_before_send(_events().TaskSendMetadata(task.coro, value))
                command = task.run(task.send, value)
                if instrument is not None:
                    instrument.on_task_after_send(_events().TaskSendMetadata(task.coro, value), command)
            else:
                task.throw_exc = None
                if instrument is not None:
                    instrument.on_task_before_throw(_events().TaskThrowMetadata(task.coro, error))
                command = task.run(task.throw, error)
                if instrument is not None:
                    instrument.on_task_after_throw(_events().TaskThrowMetadata(task.coro, error), command)
        except BaseException as outcome:  # noqa: BLE001 - sorted out by _task_raised
            self._task_raised(task, outcome)
            return False
        if task.cancel_pending is not None:
            self._cancel_at_checkpoint(task, command)
        elif command is SLEEP_ZERO:
            task.send_value = 0.0
            self._ready.append(task)
            return True
        else:
            self._handle(task, command)
        return False

    def _task_raised(self, task: Task, outcome: BaseException) -> None:
        """The task's coroutine ended (returned, was cancelled, failed) during a step."""
        if isinstance(outcome, StopIteration):
            self._task_ended(task, TaskStatus.FINISHED, outcome.value, None)
        elif isinstance(outcome, TaskCancelled):
            self._task_ended(task, TaskStatus.CANCELLED, None, outcome)
        elif isinstance(outcome, Exception):
            self._task_ended(task, TaskStatus.FAILED, None, outcome)
        else:  # KeyboardInterrupt, SystemExit: end the run
            self._task_ended(task, TaskStatus.FAILED, None, outcome)
            run = self._run
            assert run is not None
            run.fatal = outcome
            self._stopping = True

    def _handle(self, task: Task, command: Any) -> None:
        """Dispatch a yielded command through the table (unknown objects are thrown back)."""
        try:
            handler = self._dispatch[command.__class__]
        except KeyError:
            self._unknown_command(task, command)
        else:
            handler(task, command)

    def can_step_inline(self) -> bool:
        """Whether ``step_inline`` may be used now (budget left, nesting shallow, on the loop thread)."""
        return self._inline_budget > 0 and self._inline_depth < _INLINE_DEPTH

    def step_inline(self, task: Task, value: Any = None) -> None:
        """Resume a parked task *now*, inside the running task's step, until it yields again.

        For runtimes on the kernel: a consumer that needs its producer's next item can run the
        producer's step itself instead of parking and waiting for the run queue (two task switches
        saved). The task must be parked on a waitable the caller controls; the caller takes it out
        of that waitable first. What the task yields is handled exactly as in the loop. Bounded per
        batch and in depth (``can_step_inline``), so the loop still gets control regularly.
        """
        task.parked_in = None
        task.send_value = value
        self._inline_budget -= 1
        self._inline_depth += 1
        try:
            self._step(task, self._instrument)
        finally:
            self._inline_depth -= 1

    def _task_ended(self, task: Task, status: TaskStatus, result: Any, error: BaseException | None) -> None:
        task.status = status
        task.result = result
        task.error = error
        task.cancel_pending = None
        self._tasks.pop(task.coro, None)
        joiners = task.joiners
        if joiners:
            for joiner in joiners:
                reschedule(joiner)
            joiners.clear()
        instrument = self._instrument
        if instrument is not None:
            if status is TaskStatus.FINISHED:
                instrument.on_task_completed(task.coro, result)
            elif status is TaskStatus.CANCELLED:
                instrument.on_task_cancelled(task.coro, error)
            else:
                instrument.on_task_error(task.coro, error)
        run = self._run
        if run is not None and task is run.root:
            if not run.wait_for_spawned and self._cleanup is None:
                self._stopping = True
        elif error is not None and status is TaskStatus.FAILED and joiners is None:
            logger.debug("task %s failed and nobody joined it", task.name, exc_info=error)

    def _start(self, task: Task, parent: Task | None) -> None:
        self._tasks[task.coro] = task
        self._ready.append(task)
        instrument = self._instrument
        if instrument is not None:
            instrument.on_task_spawned(task.coro, None if parent is None else parent.coro)
        if self._cleanup is not None:
            self._cleanup.admit(task)

    def _cancel_at_checkpoint(self, task: Task, command: Any) -> None:
        if command.__class__ is Spawn:
            # the child starts and the task gets its handle (without it, the task could not cancel
            # or join the child it started); the cancel waits for the task's next checkpoint
            self._do_spawn(task, command)
            return
        error = task.cancel_pending
        task.cancel_pending = None
        if command.__class__ is Exit:
            self._do_exit(task, command)
            return
        reschedule(task, None, error)

    def _unknown_command(self, task: Task, command: Any) -> None:
        if command is None:
            hint = "a bare `yield` or `await asyncio.sleep(0)`; use `await flowno_core.sleep(0)`"
        else:
            hint = "an asyncio/trio object awaited inside a flowno_core task? use flowno_core primitives or to_thread()"
        reschedule(
            task,
            None,
            UnknownCommandError(f"task {task.name} yielded {command!r}, which is not a flowno_core command ({hint})"),
        )

    # ------------------------------------------------------------------ command handlers
    def _do_sleep(self, task: Task, command: Sleep) -> None:
        seconds = command.seconds
        if seconds <= 0:
            task.send_value = 0.0
            self._ready.append(task)
        else:
            self._timers.sleep(task, seconds)

    def _do_park(self, task: Task, command: Park) -> None:
        waitable = command.waitable
        waitable.park(task)
        task.parked_in = waitable

    def _new_child(self, parent: Task, coro: Any) -> Task | None:
        try:
            check_coroutine(coro, "spawn")
        except TypeError as error:
            reschedule(parent, None, error)
            return None
        child = Task(coro, self, self._ready, parent.context.copy())
        self._tasks[coro] = child
        instrument = self._instrument
        if instrument is not None:
            instrument.on_task_spawned(coro, parent.coro)
        if self._cleanup is not None:
            self._cleanup.admit(child)
        return child

    def _do_spawn(self, task: Task, command: Spawn) -> None:
        coro = command.coro
        if coro.__class__ is CoroutineType and self._instrument is None and self._cleanup is None:  # common case
            child = Task(coro, self, self._ready, task.context.copy())
            self._tasks[coro] = child
        else:
            child = self._new_child(task, coro)  # type: ignore[assignment]
            if child is None:
                return
        ready = self._ready
        ready.append(child)
        task.send_value = child._handle = TaskHandle(child)
        ready.append(task)

    def _do_exit(self, task: Task, command: Exit) -> None:
        run = self._run
        assert run is not None
        if self._cleanup is None:  # once the run has ended, exit() only ends the task
            run.end_with(command.value, command.exception)
            self._stopping = True
        self._task_ended(task, TaskStatus.FINISHED, command.value, None)
        try:
            task.run(task.coro.close)
        except BaseException:  # noqa: BLE001 - the task asked to end the loop; its clean-up cannot veto that
            logger.debug("closing the task that called exit() raised", exc_info=True)

    def _do_wait_io(self, task: Task, command: WaitIO) -> None:
        mux = self._mux
        assert mux is not None
        try:
            waiter = mux.add(command.sock, command.for_write, command.handle)
        except (RuntimeError, OSError) as error:
            reschedule(task, None, error)
            return
        waiter.park(task)
        task.parked_in = waiter

    def __repr__(self) -> str:
        state = "running" if self._running_thread is not None else "idle"
        return f"<EventLoop {state} tasks={len(self._tasks)}>"
