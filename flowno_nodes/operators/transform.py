"""Transform operators: one stream in, one stream out, item by item.

Each reads its ``source`` as a ``stream_in`` input and yields as it goes, so back-pressure reaches
the source and an operator never holds more than it needs (``apply`` with ``concurrency=n`` holds
at most n calls in flight; ``batch`` and ``window`` one batch or window). The functions passed in
(``fn``, ``predicate``) may be plain or ``async def``. When one raises, the node fails with that
error and a note naming the item. Operators that stop early (``take``, ``take_while``) cancel their
source's stream, so an endless source stops too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any, TypeVar

from flowno_core import Stream, TaskHandle, node

from .._wiring import with_keywords
from ._support import (
    NOTHING,
    Helpers,
    add_item_note,
    call,
    check_callable,
    is_async_callable,
    last_item,
    must_await,
    next_before,
    now,
    running_folds,
)

T = TypeVar("T")


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def apply(source: Stream[T], fn: Callable[[T], Any], concurrency: int = 1) -> AsyncGenerator[Any, None]:
    """Stream ``fn(item)`` for each item, in the order of the items.

    With ``concurrency=n`` up to n calls of an async ``fn`` run at once (the next items are read
    while earlier calls are in flight); results still come out in input order. Leaving early (an
    error, the consumer cancelling) cancels the calls in flight.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import apply, collect, from_iterable
    >>> with FlowHDL() as f:
    ...     f.numbers = from_iterable([1, 2, 3])
    ...     f.squares = apply(f.numbers, lambda n: n * n)
    ...     f.result = collect(f.squares)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([1, 4, 9],)
    """
    check_callable("apply", "fn", fn)
    if not (isinstance(concurrency, int) and concurrency >= 1):
        raise ValueError(f"apply(): concurrency must be an int >= 1, got {concurrency!r}")
    index = 0
    if concurrency == 1 or not is_async_callable(fn):
        async for item in source:
            try:
                result = fn(item)
                if must_await(result):
                    result = await result
            except Exception as error:
                add_item_note(error, "apply", "fn", index, item)
                raise
            yield result
            index += 1
        return
    async with Helpers() as helpers:
        in_flight: deque[tuple[TaskHandle[Any], Any]] = deque()
        async for item in source:
            in_flight.append((await helpers.start(fn(item)), item))
            if len(in_flight) == concurrency:
                yield await _joined(in_flight.popleft(), index)
                index += 1
        while in_flight:
            yield await _joined(in_flight.popleft(), index)
            index += 1


async def _joined(entry: tuple[TaskHandle[Any], Any], index: int) -> Any:
    handle, item = entry
    try:
        return await handle.join()
    except Exception as error:
        add_item_note(error, "apply", "fn", index, item)
        raise


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def keep(source: Stream[T], predicate: Callable[[T], Any]) -> AsyncGenerator[T, None]:
    """Stream the items for which ``predicate(item)`` is true (a filter that does not shadow the builtin).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable, keep
    >>> with FlowHDL() as f:
    ...     f.numbers = from_iterable(range(10))
    ...     f.even = keep(f.numbers, lambda n: n % 2 == 0)
    ...     f.result = collect(f.even)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([0, 2, 4, 6, 8],)
    """
    check_callable("keep", "predicate", predicate)
    index = 0
    async for item in source:
        try:
            wanted = predicate(item)
            if must_await(wanted):
                wanted = await wanted
        except Exception as error:
            add_item_note(error, "keep", "predicate", index, item)
            raise
        if wanted:
            yield item
        index += 1


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def take(source: Stream[T], n: int) -> AsyncGenerator[T, None]:
    """Stream the first ``n`` items, then cancel the source's stream (an endless source stops).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, count, take
    >>> with FlowHDL() as f:
    ...     f.numbers = count()                 # endless
    ...     f.first = take(f.numbers, 3)
    ...     f.result = collect(f.first)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([0, 1, 2],)
    """
    _check_count("take", n)
    if n == 0:
        await source.cancel()
        return
    taken = 0
    async for item in source:
        yield item
        taken += 1
        if taken == n:
            await source.cancel()
            return


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def skip(source: Stream[T], n: int) -> AsyncGenerator[T, None]:
    """Stream every item after the first ``n``.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable, skip
    >>> with FlowHDL() as f:
    ...     f.lines = from_iterable(["header", "a", "b"])
    ...     f.body = skip(f.lines, 1)
    ...     f.result = collect(f.body)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (['a', 'b'],)
    """
    _check_count("skip", n)
    seen = 0
    async for item in source:
        if seen >= n:
            yield item
        else:
            seen += 1


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def take_while(source: Stream[T], predicate: Callable[[T], Any]) -> AsyncGenerator[T, None]:
    """Stream items while ``predicate(item)`` is true; at the first false one, stop (that item is
    not passed on) and cancel the source's stream.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, count, take_while
    >>> with FlowHDL() as f:
    ...     f.numbers = count(1)
    ...     f.small = take_while(f.numbers, lambda n: n * n < 20)
    ...     f.result = collect(f.small)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([1, 2, 3, 4],)
    """
    check_callable("take_while", "predicate", predicate)
    index = 0
    async for item in source:
        try:
            going = await call(predicate, item)
        except Exception as error:
            add_item_note(error, "take_while", "predicate", index, item)
            raise
        if not going:
            await source.cancel()
            return
        yield item
        index += 1


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def batch(source: Stream[T], size: int | None = None, seconds: float | None = None) -> AsyncGenerator[list[T], None]:
    """Stream lists of items: a batch is passed on when it holds ``size`` items, or ``seconds``
    (loop time) after its first item arrived, whichever comes first; the last batch may be
    shorter. Give ``size``, ``seconds`` or both. No empty batch is ever passed on.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import batch, collect, from_iterable
    >>> with FlowHDL() as f:
    ...     f.numbers = from_iterable(range(7))
    ...     f.batches = batch(f.numbers, size=3)
    ...     f.result = collect(f.batches)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([[0, 1, 2], [3, 4, 5], [6]],)
    """
    if size is None and seconds is None:
        raise ValueError("batch(): give size=, seconds= or both (otherwise the batch would never end)")
    if size is not None and not (isinstance(size, int) and size >= 1):
        raise ValueError(f"batch(): size must be an int >= 1, got {size!r}")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"batch(): seconds must be a positive number, got {seconds!r}")
    limit = size if size is not None else -1
    items = source.__aiter__()
    current: list[T] = []
    deadline = 0.0
    item: Any
    while True:
        try:
            if seconds is None or not current:
                arrived, item = True, await items.__anext__()
            else:
                arrived, item = await next_before(items, deadline - now())
        except StopAsyncIteration:
            break
        if arrived:
            if not current and seconds is not None:
                deadline = now() + seconds
            current.append(item)
            if len(current) != limit:
                continue
        yield current
        current = []
    if current:
        yield current


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def window(source: Stream[T], size: int, step: int = 1) -> AsyncGenerator[tuple[T, ...], None]:
    """Stream sliding windows: tuples of ``size`` consecutive items, the next one starting ``step``
    items later. A source shorter than ``size`` gives no window; items past the last full window
    are not passed on.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable, window
    >>> with FlowHDL() as f:
    ...     f.numbers = from_iterable([1, 2, 3, 4, 5])
    ...     f.pairs = window(f.numbers, 2)
    ...     f.result = collect(f.pairs)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([(1, 2), (2, 3), (3, 4), (4, 5)],)
    """
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"window(): size must be an int >= 1, got {size!r}")
    if not (isinstance(step, int) and step >= 1):
        raise ValueError(f"window(): step must be an int >= 1, got {step!r}")
    recent: deque[T] = deque(maxlen=size)
    to_skip = 0  # items to drop before the next window may start (step > size)
    async for item in source:
        if to_skip:
            to_skip -= 1
            continue
        recent.append(item)
        if len(recent) == size:
            yield tuple(recent)
            if step >= size:
                recent.clear()
                to_skip = step - size
            else:
                for _ in range(step):
                    recent.popleft()


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def scan(source: Stream[T], fn: Callable[[Any, T], Any], initial: Any = NOTHING) -> AsyncGenerator[Any, None]:
    """Stream the running accumulation ``acc = fn(acc, item)``, starting from ``initial`` (without
    ``initial`` the first item starts it and is passed on as it is).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable, scan
    >>> with FlowHDL() as f:
    ...     f.numbers = from_iterable([1, 2, 3, 4])
    ...     f.totals = scan(f.numbers, lambda total, n: total + n, 0)
    ...     f.result = collect(f.totals)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([1, 3, 6, 10],)
    """
    async with aclosing(running_folds("scan", source, fn, initial)) as folds:
        async for accumulated in folds:
            yield accumulated


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def flatten(source: Stream[Any]) -> AsyncGenerator[Any, None]:
    """Stream the elements of each item (an iterable or async iterable), in order: a stream of lists
    becomes a stream of their elements. Like ``itertools.chain``, a string item gives its characters.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, flatten, from_iterable
    >>> with FlowHDL() as f:
    ...     f.pages = from_iterable([[1, 2], [], [3]])
    ...     f.rows = flatten(f.pages)
    ...     f.result = collect(f.rows)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([1, 2, 3],)
    """
    index = 0
    async for item in source:
        if hasattr(item, "__aiter__"):
            async for element in item:
                yield element
        elif hasattr(item, "__iter__"):
            for element in item:
                yield element
        else:
            error = TypeError(f"flatten(): item #{index} is not iterable: {item!r}")
            error.add_note("flatten() expects a stream of iterables (lists, tuples, async iterators, ...)")
            raise error
        index += 1


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def enumerate_items(source: Stream[T], start: int = 0) -> AsyncGenerator[tuple[int, T], None]:
    """Stream ``(index, item)`` pairs, counting from ``start``.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, enumerate_items, from_iterable
    >>> with FlowHDL() as f:
    ...     f.words = from_iterable(["a", "b"])
    ...     f.numbered = enumerate_items(f.words, start=1)
    ...     f.result = collect(f.numbered)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([(1, 'a'), (2, 'b')],)
    """
    index = start
    async for item in source:
        yield (index, item)
        index += 1


def _check_count(operator: str, n: Any) -> None:
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 0):
        raise ValueError(f"{operator}(): n must be an int >= 0, got {n!r}")
