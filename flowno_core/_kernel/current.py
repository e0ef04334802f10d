"""Who is running, and what counts as a coroutine.

The current task is a ContextVar set once in each task's own context (see ``task``), so reading it
is free. The loop running on a thread is the loop's own business (``loop.current_event_loop``).
"""

from __future__ import annotations

import inspect
from types import CoroutineType, GeneratorType
from typing import Any

from .task import CURRENT_TASK, Task


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
