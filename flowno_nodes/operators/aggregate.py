"""Aggregate operators: read a whole stream and sum it up.

``collect``, ``reduce`` and ``count_items`` are coroutine nodes: their value is ready when the
source's stream has ended, and they are how a flow turns a stream into one value. ``distinct``
streams the first occurrence of each item (it remembers the keys it has seen, so its memory grows
with the number of different items).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Hashable
from contextlib import aclosing
from typing import Any, TypeVar

from flowno_core import Stream, node

from .._wiring import with_keywords
from ._support import NOTHING, add_item_note, call, check_callable, last_item, running_folds

T = TypeVar("T")


@with_keywords
@node(stream_in=["source"])
async def collect(source: Stream[T]) -> list[T]:
    """The list of all items of the stream.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, count
    >>> with FlowHDL() as f:
    ...     f.numbers = count(stop=4)
    ...     f.result = collect(f.numbers)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([0, 1, 2, 3],)
    """
    return [item async for item in source]


@with_keywords
@node(stream_in=["source"])
async def reduce(source: Stream[T], fn: Callable[[Any, T], Any], initial: Any = NOTHING) -> Any:
    """Fold the stream into one value: ``acc = fn(acc, item)`` from ``initial`` (without ``initial``
    the first item starts it; an empty stream then is an error).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import from_iterable, reduce
    >>> with FlowHDL() as f:
    ...     f.words = from_iterable(["flow", "no", "core"])
    ...     f.longest = reduce(f.words, lambda best, w: w if len(w) > len(best) else best)
    >>> report = f.run_until_complete()
    >>> f.longest.get_data()
    ('flow',)
    """
    accumulated = initial
    async with aclosing(running_folds("reduce", source, fn, initial)) as folds:
        async for accumulated in folds:
            pass
    if accumulated is NOTHING:
        raise ValueError("reduce(): the stream was empty and no initial value was given (pass initial=...)")
    return accumulated


@with_keywords
@node(stream_in=["source"])
async def count_items(source: Stream[Any]) -> int:
    """How many items the stream had.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import count_items, from_iterable, keep
    >>> with FlowHDL() as f:
    ...     f.words = from_iterable(["a", "bb", "ccc"])
    ...     f.long = keep(f.words, lambda w: len(w) > 1)
    ...     f.result = count_items(f.long)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (2,)
    """
    total = 0
    async for _ in source:
        total += 1
    return total


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def distinct(source: Stream[T], key: Callable[[T], Hashable] | None = None) -> AsyncGenerator[T, None]:
    """Stream each item whose ``key(item)`` (the item itself by default) has not been seen before.

    Keys must be hashable; for unhashable items (dicts, lists) pass a ``key`` that makes one.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, distinct, from_iterable
    >>> with FlowHDL() as f:
    ...     f.words = from_iterable(["b", "a", "b", "A"])
    ...     f.unique = distinct(f.words, key=str.lower)
    ...     f.result = collect(f.unique)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (['b', 'a'],)
    """
    if key is not None:
        check_callable("distinct", "key", key)
    seen: set[Any] = set()
    index = 0
    async for item in source:
        try:
            marker = item if key is None else await call(key, item)
            new = marker not in seen
        except TypeError as error:
            if key is None and "unhashable" in str(error):
                error.add_note("distinct(): pass key=... that turns each item into something hashable")
            add_item_note(error, "distinct", "key" if key is not None else "hashing", index, item)
            raise
        except Exception as error:
            add_item_note(error, "distinct", "key", index, item)
            raise
        if new:
            seen.add(marker)
            yield item
        index += 1
