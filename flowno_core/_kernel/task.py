"""Tasks, task handles and cancel requests.

Theory of operation: a ``Task`` wraps one coroutine (native or generator-based). The kernel resumes
it with ``task.run(task.send, value)`` inside the task's own ``contextvars.Context`` (a copy of the
creator's context), so ContextVars behave as in asyncio. In that context the ``CURRENT_TASK``
variable is set once, at creation, to the task itself: ``current_task()`` is therefore free to read
and costs nothing per step.

State: ``status`` is PENDING until the coroutine returns (FINISHED), raises (FAILED) or lets a
``TaskCancelled`` escape (CANCELLED). A pending task is either running, in the run queue
(``run_queue``, the loop's), or parked on exactly one waitable (``parked_in``). The handle and the
task object keep the outcome; the loop forgets a task as soon as it ends.

A task is itself the waitable its joiners park on (``join``, awaiting a ``CancelRequest``): they
wait in ``joiners``, and the loop wakes them, in the order they came, when the task ends.

This module sits below the loop and the parking mechanism, so it names the loop only through the
``TaskLoop`` protocol (``EventLoop`` implements it).
"""

from __future__ import annotations

import contextvars
import enum
import types
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

from .commands import Park

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

CURRENT_TASK: contextvars.ContextVar["Task | None"] = contextvars.ContextVar("flowno_core.current_task", default=None)


class TaskStatus(enum.Enum):
    PENDING = "pending"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING = TaskStatus.PENDING
_set_current_task = CURRENT_TASK.set


class TaskLoop(Protocol):
    """The loop a task runs on, as tasks and handles use it (``EventLoop`` implements it)."""

    def time(self) -> float: ...

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None: ...

    def cancel_task(self, task: Task) -> CancelRequest[Any]: ...

    def throw_into(self, task: Task, error: BaseException) -> None: ...

    def stop(self, value: Any = None, exception: BaseException | None = None) -> None: ...


class Task:
    """The kernel's record of one coroutine. Users see ``TaskHandle``; primitive authors see this."""

    __slots__ = (
        "coro",
        "loop",
        "run_queue",
        "context",
        "run",
        "send",
        "throw",
        "send_value",
        "throw_exc",
        "parked_in",
        "status",
        "result",
        "error",
        "joiners",
        "cancel_pending",
        "cancel_sent",
        "_handle",
        "owner",
        "__weakref__",
    )

    def __init__(
        self, coro: Any, loop: TaskLoop, run_queue: deque[Task], context: contextvars.Context | None = None
    ) -> None:
        self.coro = coro
        self.loop = loop
        self.run_queue = run_queue  # the loop's run queue: ``reschedule`` appends the task to it
        ctx = contextvars.copy_context() if context is None else context
        ctx.run(_set_current_task, self)
        self.context = ctx
        self.run = ctx.run
        self.send = coro.send
        self.throw = coro.throw
        self.send_value: Any = None
        self.throw_exc: BaseException | None = None
        self.parked_in: Any = None
        self.status = PENDING
        self.result: Any = None
        self.error: BaseException | None = None
        self.joiners: dict[Task, None] | None = None  # tasks waiting for this one to end
        self.cancel_pending: BaseException | None = None  # thrown at the task's next checkpoint
        self.cancel_sent = False  # a task gets at most one cancel (see ``cancellation``)
        self._handle: TaskHandle[Any] | None = None
        self.owner: Any = None

    @property
    def handle(self) -> TaskHandle[Any]:
        handle = self._handle
        if handle is None:
            handle = self._handle = TaskHandle(self)
        return handle

    @property
    def name(self) -> str:
        coro = self.coro
        return getattr(coro, "__qualname__", None) or getattr(coro, "__name__", None) or type(coro).__name__

    # -- the waitable protocol, for tasks that wait for this one to end ------------------------
    def park(self, joiner: Task) -> None:
        joiners = self.joiners
        if joiners is None:
            joiners = self.joiners = {}
        joiners[joiner] = None

    def abort(self, joiner: Task) -> None:
        if self.joiners is not None:
            self.joiners.pop(joiner, None)

    def describe(self) -> str:
        return f"task {self.name} to end"

    def outcome(self) -> Any:
        """Return the result, or raise the stored exception."""
        if self.error is not None:
            raise self.error
        return self.result

    def describe_wait(self) -> str:
        """What the task is waiting for, in words (for deadlock and debug messages)."""
        waitable = self.parked_in
        if waitable is None:
            return "runnable" if self.status is PENDING else self.status.value
        describe = getattr(waitable, "describe", None)
        return describe() if describe is not None else repr(waitable)

    def __repr__(self) -> str:
        owner = f" owner={self.owner!r}" if self.owner is not None else ""
        return f"<Task {self.name} {self.status.value}{owner}>"


class TaskHandle(Generic[T_co]):
    """A handle to a task: join it, cancel it, or ask how it ended.

    Example::

        async def child():
            return 42

        async def main():
            handle = await spawn(child())
            assert await handle.join() == 42
    """

    __slots__ = ("_task",)

    def __init__(self, task: Task) -> None:
        self._task = task

    @property
    def event_loop(self) -> TaskLoop:
        """The loop the task runs on (an ``EventLoop``)."""
        return self._task.loop

    @property
    def raw_task(self) -> Any:
        """The coroutine object this handle runs."""
        return self._task.coro

    @property
    def is_finished(self) -> bool:
        """True if the task returned normally."""
        return self._task.status is TaskStatus.FINISHED

    @property
    def is_error(self) -> bool:
        """True if the task raised an exception (cancellation excluded)."""
        return self._task.status is TaskStatus.FAILED

    @property
    def is_cancelled(self) -> bool:
        """True if the task ended by cancellation."""
        return self._task.status is TaskStatus.CANCELLED

    @property
    def done(self) -> bool:
        """True once the task has ended, whichever way."""
        return self._task.status is not PENDING

    def cancel(self) -> CancelRequest[T_co]:
        """Cancel the task: ``TaskCancelled`` is thrown into it where it waits. A task is cancelled
        at most once: cancelling it again (or the end of the run) throws nothing more.

        Returns a ``CancelRequest``: truthy if the cancel was delivered (the task had not ended), and
        awaitable until the task has finished cancelling (it gives the task's return value, or None
        when an exception ended it). Awaiting it never raises.
        """
        return self._task.loop.cancel_task(self._task)

    @types.coroutine
    def join(self) -> Generator[Any, Any, T_co]:
        """Wait for the task to end; return its value or re-raise its exception (or TaskCancelled)."""
        task = self._task
        if task.status is PENDING:
            if CURRENT_TASK.get() is task:
                raise RuntimeError(f"task {task.name} cannot join itself (it would wait forever)")
            yield Park(task)
        return task.outcome()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<TaskHandle {self._task.name} {self._task.status.value}>"


class CancelRequest(Generic[T_co]):
    """What ``TaskHandle.cancel()`` returns: a bool you can also await."""

    __slots__ = ("_task", "delivered")

    def __init__(self, task: Task, delivered: bool) -> None:
        self._task = task
        self.delivered = delivered

    def __bool__(self) -> bool:
        return self.delivered

    def __await__(self) -> Generator[Any, Any, T_co | None]:
        task = self._task
        if task.status is PENDING:
            yield Park(task)
        return task.result if task.error is None else None

    def __repr__(self) -> str:
        return f"<CancelRequest delivered={self.delivered} task={self._task.name}>"
