"""Public awaitable primitives: spawn, sleep, exit, azip (and to_thread from the kernel).

Each is a thin wrapper over a trap; see ``_kernel/traps.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Coroutine, Generator
from typing import Any, TypeVar, overload

from ._kernel.task import TaskHandle
from ._kernel.traps import exit_trap, sleep_trap, spawn_trap

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")


def spawn(raw_task: Coroutine[Any, Any, T] | Generator[Any, Any, T]) -> Awaitable[TaskHandle[T]]:
    """Start ``raw_task`` as a concurrent task; it runs first, then the caller gets its handle.

    Raises TypeError (in the caller) if ``raw_task`` is not a coroutine object.

    Example::

        async def main():
            handle = await spawn(worker())
            result = await handle.join()
    """
    return spawn_trap(raw_task)


def sleep(duration: float) -> Awaitable[float]:
    """Suspend the calling task for ``duration`` seconds of loop time; returns the elapsed time.

    ``sleep(0)`` (or any duration <= 0) yields to the other runnable tasks exactly once.

    Example::

        async def main():
            elapsed = await sleep(0.5)
    """
    return sleep_trap(duration)


def exit(return_value: Any = None, exception: BaseException | None = None) -> Awaitable[None]:  # noqa: A001
    """End the running loop: ``run_until_complete`` raises ``exception``, or returns ``return_value``
    (with ``join=True``). Every other task is cancelled and closed.

    Example::

        async def main():
            await exit("done")       # run_until_complete(main(), join=True) == "done"
    """
    return exit_trap(return_value, exception)


@overload
def azip(it1: AsyncIterator[T1], /) -> AsyncIterator[tuple[T1]]: ...
@overload
def azip(it1: AsyncIterator[T1], it2: AsyncIterator[T2], /) -> AsyncIterator[tuple[T1, T2]]: ...
@overload
def azip(
    it1: AsyncIterator[T1], it2: AsyncIterator[T2], it3: AsyncIterator[T3], /
) -> AsyncIterator[tuple[T1, T2, T3]]: ...
@overload
def azip(*iterables: AsyncIterator[Any]) -> AsyncIterator[tuple[Any, ...]]: ...


async def azip(*iterables: AsyncIterator[Any]) -> AsyncIterator[tuple[Any, ...]]:  # type: ignore[misc]
    """Zip async iterators in lockstep; stop at the first exhausted one (the others are not closed).

    Example::

        async for left, right in azip(stream_a, stream_b):
            ...
    """
    iterators = [iterable.__aiter__() for iterable in iterables]
    if not iterators:
        return
    while True:
        row = []
        for iterator in iterators:
            try:
                row.append(await iterator.__anext__())
            except StopAsyncIteration:
                return
        yield tuple(row)
