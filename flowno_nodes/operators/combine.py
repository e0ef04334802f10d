"""Combine operators: several streams in, one stream out.

``merge``, ``zip_latest`` and ``concat`` take any number of sources (``merge(f.a, f.b, f.c)``). Like
every node with several stream inputs, they start once each source has produced its first item
(a stream input is ready only when its producer has something new). ``merge`` and ``zip_latest``
read every source at once through one helper task per source, each at most one item ahead, so
back-pressure still reaches every source; an error from any source ends the node with that error
and stops the other readers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from flowno_core import AsyncQueue, Stream, TaskCancelled

from ._support import Failure, Helpers, variadic_stream_node

_END = object()  # a source ended (queued by its reader)


async def _arrivals(sources: tuple[Stream[Any], ...]) -> AsyncGenerator[tuple[int, Any], None]:
    """``(source index, item)`` in the order items arrive, until every source has ended."""
    queue: AsyncQueue[tuple[int, Any]] = AsyncQueue(maxsize=len(sources))

    async def pump(index: int, stream: Stream[Any]) -> None:
        try:
            async for item in stream:
                await queue.put((index, item))
        except TaskCancelled:  # the node is done with its sources (it closes its helpers)
            raise
        except Exception as error:  # handed to the node, which raises it
            await queue.put((index, Failure(error)))
            return
        await queue.put((index, _END))

    async with Helpers() as helpers:
        for index, stream in enumerate(sources):
            await helpers.start(pump(index, stream))
        running = len(sources)
        while running:
            index, item = await queue.get()
            if item is _END:
                running -= 1
            elif item.__class__ is Failure:
                raise item.error
            else:
                yield index, item


async def _merge(*sources: Stream[Any]) -> AsyncGenerator[Any, None]:
    async with aclosing(_arrivals(sources)) as arrivals:  # (closed here, so its helpers stop here)
        async for _, item in arrivals:
            yield item


async def _zip_latest(*sources: Stream[Any]) -> AsyncGenerator[tuple[Any, ...], None]:
    latest: list[Any] = [_END] * len(sources)
    missing = len(sources)
    async with aclosing(_arrivals(sources)) as arrivals:
        async for index, item in arrivals:
            if latest[index] is _END:
                missing -= 1
            latest[index] = item
            if not missing:
                yield tuple(latest)


async def _concat(*sources: Stream[Any]) -> AsyncGenerator[Any, None]:
    for stream in sources:
        async for item in stream:
            yield item


merge = variadic_stream_node(
    "merge",
    _merge,
    """Stream the items of all sources in the order they arrive (each source's own order is kept).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable, merge
    >>> with FlowHDL() as f:
    ...     f.a = from_iterable([1, 2])
    ...     f.b = from_iterable([10, 20])
    ...     f.both = merge(f.a, f.b)
    ...     f.result = collect(f.both)
    >>> report = f.run_until_complete()
    >>> sorted(f.result.get_data()[0])
    [1, 2, 10, 20]
    """,
    __name__,
)

zip_latest = variadic_stream_node(
    "zip_latest",
    _zip_latest,
    """Stream a tuple of every source's latest item each time any source produces one, from the
    moment every source has produced at least one.

    >>> from flowno_core import FlowHDL, VirtualClock
    >>> from flowno_nodes import collect, interval, zip_latest
    >>> with FlowHDL(clock=VirtualClock()) as f:
    ...     f.slow = interval(1.0, limit=2)        # ticks at 1.0 and 2.0
    ...     f.fast = interval(0.4, limit=4)        # ticks at 0.4, 0.8, 1.2, 1.6
    ...     f.pairs = zip_latest(f.slow, f.fast)
    ...     f.result = collect(f.pairs)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([(0, 0), (0, 1), (0, 2), (0, 3), (1, 3)],)
    """,
    __name__,
)

concat = variadic_stream_node(
    "concat",
    _concat,
    """Stream all items of the first source, then all of the second, and so on. A later source
    waits, paused after its first item, until its turn comes.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, concat, from_iterable
    >>> with FlowHDL() as f:
    ...     f.head = from_iterable(["title"])
    ...     f.body = from_iterable(["line 1", "line 2"])
    ...     f.document = concat(f.head, f.body)
    ...     f.result = collect(f.document)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (['title', 'line 1', 'line 2'],)
    """,
    __name__,
)
