"""Who is running: the current task and loop, and what counts as a coroutine.

The current task is a ContextVar set once in each task's own context (so reading it is free); the
loop running on a thread is a thread-local, for code that runs in the loop outside any task.
"""

from __future__ import annotations

import inspect
import threading
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any

from .task import CURRENT_TASK, Task

if TYPE_CHECKING:
    from .loop import EventLoop

thread_state = threading.local()


def current_event_loop() -> "EventLoop | None":
    """The loop running the current task (or running on this thread), else None."""
    task = CURRENT_TASK.get()
    if task is not None:
        return task.loop
    return getattr(thread_state, "loop", None)


def current_task() -> Any:
    """The raw coroutine of the running task, or None outside a task."""
    task = CURRENT_TASK.get()
    return None if task is None else task.coro


def current_task_object() -> Task | None:
    """The running kernel Task (for primitive authors), or None."""
    return CURRENT_TASK.get()


def is_coroutine_like(obj: object) -> bool:
    return inspect.iscoroutine(obj) or inspect.isgenerator(obj)


_COROUTINE_TYPES = (CoroutineType, GeneratorType)


def check_coroutine(obj: object, who: str) -> None:
    if obj.__class__ in _COROUTINE_TYPES or is_coroutine_like(obj):
        return
    if inspect.iscoroutinefunction(obj) or inspect.isgeneratorfunction(obj):
        hint = f"call it first: {who}({getattr(obj, '__name__', 'fn')}(...))"
    elif inspect.isawaitable(obj):
        hint = "wrap the awaitable in an async function that awaits it"
    else:
        hint = "pass the object returned by calling an async function"
    raise TypeError(f"{who}() needs a coroutine object, got {obj!r}; {hint}")


def not_started(coro: Any) -> bool:
    if inspect.iscoroutine(coro):
        return inspect.getcoroutinestate(coro) == inspect.CORO_CREATED
    if inspect.isgenerator(coro):
        return inspect.getgeneratorstate(coro) == inspect.GEN_CREATED
    return False


