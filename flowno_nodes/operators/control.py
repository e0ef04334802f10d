"""Control nodes: decide whether a generation runs on (``gate``) and fan a list out to parallel
calls (``foreach``).

``gate`` skips with ``flowno_core.SkipGeneration``: the generation is not an error, its dependants
skip it too, and a dependant's ``optional=[...]`` port takes its default instead. ``foreach`` runs
an async function (or a function ``@node``'s code) as tasks, and a plain function on worker
threads, at most ``max_workers`` at a time; the results keep the order of the items, and the first
failure cancels the calls still running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flowno_core import AsyncQueue, DraftNode, SkipGeneration, TaskCancelled, node, to_thread

from .._wiring import with_keywords
from ._support import Failure, Helpers, add_item_note, call, is_async_callable, short_repr

T = TypeVar("T")


@with_keywords
@node
async def gate(value: T, condition: Any) -> T:
    """Pass ``value`` on when ``condition`` is true, otherwise skip this generation (its dependants
    skip it too). ``condition`` is a value (often another node's output) or a function of ``value``.

    >>> from flowno_core import FlowHDL, Skipped
    >>> from flowno_nodes import gate
    >>> with FlowHDL() as f:
    ...     f.passed = gate("order #1", True)
    ...     f.stopped = gate(-5, lambda amount: amount > 0)
    >>> report = f.run_until_complete()
    >>> f.passed.get_data()
    ('order #1',)
    >>> isinstance(f.stopped.get_data(), Skipped)
    True
    """
    if callable(condition):
        try:
            condition = await call(condition, value)
        except Exception as error:
            add_item_note(error, "gate", "condition", 0, value)
            raise
    if not condition:
        raise SkipGeneration(f"gate(): the condition is false for {short_repr(value)}")
    return value


@with_keywords
@node
async def foreach(items: Iterable[Any], fn: Callable[[Any], Any], max_workers: int = 4) -> list[Any]:
    """Call ``fn(item)`` for every item, up to ``max_workers`` at once, and return the results in
    the order of the items. An async ``fn`` (or a function ``@node`` class, whose code is used)
    runs as tasks on the flow's loop; a plain function runs on worker threads.

    >>> from flowno_core import FlowHDL, sleep
    >>> from flowno_nodes import foreach
    >>> async def fetch(page):
    ...     await sleep(0.01)
    ...     return f"page {page}"
    >>> with FlowHDL() as f:
    ...     f.pages = foreach([3, 1, 2], fetch, max_workers=2)
    >>> report = f.run_until_complete()
    >>> f.pages.get_data()
    (['page 3', 'page 1', 'page 2'],)
    """
    if isinstance(fn, type) and issubclass(fn, DraftNode):
        fn = getattr(fn, "__wrapped__", None) or _no_function(fn)
    function: Callable[[Any], Any] = fn
    if not callable(function):
        raise TypeError(f"foreach(): fn must be a function (sync or async) or a function @node, got {fn!r}")
    if not (isinstance(max_workers, int) and max_workers >= 1):
        raise ValueError(f"foreach(): max_workers must be an int >= 1, got {max_workers!r}")
    work = list(items)
    results: list[Any] = [None] * len(work)
    if not work:
        return results
    on_loop = is_async_callable(function)
    done: AsyncQueue[Any] = AsyncQueue()

    taken = 0  # items handed to a worker so far (a free worker takes the next one)

    async def worker() -> None:
        nonlocal taken
        while taken < len(work):
            index = taken
            taken += 1
            try:
                results[index] = await function(work[index]) if on_loop else await to_thread(function, work[index])
            except TaskCancelled:  # the node is done (it closes its helpers)
                raise
            except Exception as error:
                add_item_note(error, "foreach", "fn", index, work[index])
                await done.put(Failure(error))
                return
        await done.put(None)

    workers = min(max_workers, len(work))
    async with Helpers() as helpers:
        for _ in range(workers):
            await helpers.start(worker())
        for _ in range(workers):
            outcome = await done.get()
            if outcome is not None:
                raise outcome.error
    return results


def _no_function(node_class: type) -> Any:
    raise TypeError(f"foreach(): {node_class.__name__} is a class node; pass a function @node or a function")
