"""What the stream operators share: calling a user function that may be sync or async, helper tasks
that never outlive the evaluation that started them, reading a stream with a deadline, and nodes
with any number of stream inputs.

Theory of operation: an operator is an ordinary flowno_core node (``@node(stream_in=[...])`` on an
async generator), written only against flowno_core's public and low-level API. Most read their
input in their own evaluation; the few that must read while they wait for something else (merge,
delay) start helper tasks in a ``Helpers`` block, which cancels and awaits whatever is still running
when the block ends, however it ends (end of stream, an error, the consumer cancelling the stream,
the flow stopping). So no operator leaves a task behind.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from types import CoroutineType
from typing import Any, TypeVar

from flowno_core import DraftNode, TaskCancelled, TaskHandle, current_event_loop, move_on_after, spawn

T = TypeVar("T")

#: the default of an optional argument that has no natural default value (``scan``'s ``initial``)
NOTHING: Any = type("Nothing", (), {"__repr__": lambda self: "NOTHING", "__slots__": ()})()


class Failure:
    """An exception a helper task hands to its node through a queue (the node raises it)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def is_async_callable(fn: Any) -> bool:
    """True if calling ``fn`` returns a coroutine (an ``async def`` function or callable object)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def check_callable(operator: str, name: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{operator}(): {name} must be a function (sync or async), got {fn!r}")


#: result types that are never awaitable (checked first: ``inspect.isawaitable`` is slow)
PLAIN_TYPES = frozenset((int, float, bool, str, bytes, tuple, list, dict, set, type(None)))


def must_await(result: Any) -> bool:
    """True if a user function's result is to be awaited (it was an ``async def``)."""
    cls = result.__class__
    if cls in PLAIN_TYPES:
        return False
    return cls is CoroutineType or inspect.isawaitable(result)


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, awaited if it returned a coroutine or another awaitable."""
    result = fn(*args)
    if must_await(result):
        return await result
    return result


def last_item(accumulated: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
    """The final value of a streaming operator: its last item. (The engine's default combines every
    chunk, which for lists, tuples and strings holds the whole stream in memory.)"""
    return chunk


def short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def add_item_note(error: BaseException, operator: str, what: str, index: int, item: Any) -> None:
    """Say which item a user function failed on (the node and generation are noted by flowno_core).
    A cancellation that arrived while the function ran is not its failure: it gets no note."""
    if isinstance(error, TaskCancelled):
        return
    error.add_note(f"{operator}: {what} failed on item #{index}: {short_repr(item)}")


async def running_folds(
    operator: str, items: AsyncIterator[Any], fn: Callable[[Any, Any], Any], initial: Any
) -> AsyncGenerator[Any, None]:
    """``acc = fn(acc, item)`` after each item, from ``initial`` (``NOTHING``: the first item
    starts it); what ``scan`` streams and ``reduce`` keeps the last of."""
    check_callable(operator, "fn", fn)
    accumulated = initial
    index = 0
    async for item in items:
        if accumulated is NOTHING:
            accumulated = item
        else:
            try:
                accumulated = await call(fn, accumulated, item)
            except Exception as error:
                add_item_note(error, operator, "fn", index, item)
                raise
        yield accumulated
        index += 1


def now() -> float:
    """The running loop's clock (virtual time under a VirtualClock)."""
    loop = current_event_loop()
    if loop is None:
        raise RuntimeError("flowno_nodes operators run inside a flow (no event loop is running)")
    return loop.time()


async def next_before(items: AsyncIterator[T], seconds: float | None) -> tuple[bool, T | None]:
    """Wait at most ``seconds`` (None: no limit) for the next item: ``(True, item)``, or
    ``(False, None)`` when the time ran out first. Raises StopAsyncIteration at the end."""
    if seconds is None:
        return True, await items.__anext__()
    with move_on_after(max(seconds, 0.0)):
        return True, await items.__anext__()
    return False, None


class Helpers:
    """Helper tasks bound to a block: leaving the block cancels the unfinished ones and waits for them.

    Example::

        async with Helpers() as helpers:
            await helpers.start(pump(stream))
            ...
    """

    __slots__ = ("tasks", "_tidy_at")

    def __init__(self) -> None:
        self.tasks: list[TaskHandle[Any]] = []
        self._tidy_at = 16

    async def start(self, coro: Coroutine[Any, Any, T]) -> TaskHandle[T]:
        handle = await spawn(coro)
        tasks = self.tasks
        tasks.append(handle)
        if len(tasks) >= self._tidy_at:  # forget the ended ones (a long stream starts many)
            tasks[:] = [task for task in tasks if not task.done]
            self._tidy_at = max(16, 2 * len(tasks))
        return handle

    async def __aenter__(self) -> "Helpers":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        for handle in self.tasks:
            if not handle.done:
                await handle.cancel()
        self.tasks.clear()


def variadic_stream_node(
    name: str, body: Callable[..., Any], doc: str | None, module: str
) -> Callable[..., DraftNode]:
    """A node constructor taking any number of stream inputs (``merge(f.a, f.b, f.c)``).

    ``@node`` makes one port per parameter, so a node class is made per number of inputs (cached),
    all counting their instances together so that names (``merge#0``, ``merge#1``) stay unique.
    ``body(*streams)`` is an async generator of items; the final value is the last one.
    """

    class Base(DraftNode):  # type: ignore[type-arg]
        _instance_counter = 0

        def call(self, *streams: Any) -> Any:
            return _as_chunks(body(*streams))

        def accumulate_streamed_data(self, accumulated: Any, chunk: Any) -> Any:
            return last_item(accumulated, chunk)

        def increment_instance_counter(self) -> int:
            count = Base._instance_counter
            Base._instance_counter = count + 1
            return count

    Base.__name__ = Base.__qualname__ = name
    Base.__module__ = module
    classes: dict[int, type[DraftNode]] = {}  # type: ignore[type-arg]

    def construct(*sources: Any) -> DraftNode:  # type: ignore[type-arg]
        if not sources:
            raise TypeError(f"{name}() needs at least one source node")
        cls = classes.get(len(sources))
        if cls is None:
            cls = classes[len(sources)] = type(
                name, (Base,), {"_minimum_run_level": [1] * len(sources), "__module__": module}
            )
        return cls(*sources)

    construct.__name__ = construct.__qualname__ = name
    construct.__doc__ = doc
    construct.__module__ = module
    return construct


async def _as_chunks(items: AsyncGenerator[Any, None]) -> AsyncGenerator[tuple[Any], None]:
    """A hand-written node yields output tuples: wrap each item of a one-output body."""
    try:
        async for item in items:
            yield (item,)
    finally:
        await items.aclose()  # type: ignore[attr-defined]

