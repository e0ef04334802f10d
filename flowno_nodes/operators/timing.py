"""Timing operators: shape a stream in time, on the loop's clock (a VirtualClock makes them instant
in tests).

``throttle`` and ``delay`` pass every item on; ``debounce`` deliberately passes on only the items
that were not followed by a newer one within its quiet time. ``timeout`` ends a stream that is too
slow with ``StreamTimeout``, after cancelling the source's stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeVar

from flowno_core import AsyncQueue, Stream, TaskCancelled, node, sleep

from .._wiring import with_keywords
from ._support import Failure, Helpers, last_item, next_before, now

T = TypeVar("T")


class StreamTimeout(TimeoutError):
    """Raised by ``timeout`` when the next item, or the end of the stream, did not come in time."""


def _check_seconds(operator: str, name: str, seconds: Any, optional: bool = False) -> None:
    if seconds is None and optional:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"{operator}(): {name} must be a positive number of seconds, got {seconds!r}")


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def throttle(source: Stream[T], seconds: float) -> AsyncGenerator[T, None]:
    """Pass items on at most one per ``seconds``: an item that comes too soon after the previous
    one waits (nothing is dropped, and back-pressure slows the source down).

    >>> from flowno_core import FlowHDL, VirtualClock
    >>> from flowno_nodes import apply, collect, from_iterable, throttle
    >>> from flowno_core import current_event_loop
    >>> with FlowHDL(clock=VirtualClock()) as f:
    ...     f.requests = from_iterable(["a", "b", "c"])
    ...     f.paced = throttle(f.requests, 2.0)
    ...     f.stamped = apply(f.paced, lambda r: (current_event_loop().time(), r))
    ...     f.result = collect(f.stamped)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([(0.0, 'a'), (2.0, 'b'), (4.0, 'c')],)
    """
    _check_seconds("throttle", "seconds", seconds)
    last: float | None = None
    async for item in source:
        if last is not None:
            wait = last + seconds - now()
            if wait > 0:
                await sleep(wait)
        last = now()
        yield item


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def debounce(source: Stream[T], seconds: float) -> AsyncGenerator[T, None]:
    """Pass an item on only once ``seconds`` have passed without a newer item (the newer one
    replaces it); the last item is passed on when the stream ends. For bursts such as keystrokes.

    >>> from flowno_core import FlowHDL, VirtualClock, node, sleep
    >>> from flowno_nodes import collect, debounce
    >>> @node
    ... async def Typing():
    ...     for text, pause in [("h", 0.1), ("he", 0.1), ("hel", 1.0), ("help", 0.1)]:
    ...         yield text
    ...         await sleep(pause)
    >>> with FlowHDL(clock=VirtualClock()) as f:
    ...     f.typed = Typing()
    ...     f.settled = debounce(f.typed, 0.5)
    ...     f.result = collect(f.settled)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (['hel', 'help'],)
    """
    _check_seconds("debounce", "seconds", seconds)
    items = source.__aiter__()
    pending: list[T] = []  # at most one item: the latest, not yet passed on
    due = 0.0
    while True:
        try:
            if pending:
                arrived, item = await next_before(items, due - now())
            else:
                arrived, item = True, await items.__anext__()
        except StopAsyncIteration:
            break
        if arrived:
            pending[:] = [item]  # type: ignore[list-item]
            due = now() + seconds
        else:
            yield pending.pop()
    if pending:
        yield pending.pop()


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def delay(source: Stream[T], seconds: float, max_pending: int = 1000) -> AsyncGenerator[T, None]:
    """Pass every item on ``seconds`` after it arrived, keeping the spacing between items.

    The items in transit are held meanwhile, at most ``max_pending``: when that many wait, the node
    stops reading its source until one is passed on (those later items are then late).

    >>> from flowno_core import FlowHDL, VirtualClock, current_event_loop
    >>> from flowno_nodes import apply, collect, delay, interval
    >>> with FlowHDL(clock=VirtualClock()) as f:
    ...     f.ticks = interval(1.0, limit=2)          # at 1.0 and 2.0
    ...     f.later = delay(f.ticks, 0.5)
    ...     f.stamped = apply(f.later, lambda t: (current_event_loop().time(), t))
    ...     f.result = collect(f.stamped)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([(1.5, 0), (2.5, 1)],)
    """
    _check_seconds("delay", "seconds", seconds)
    if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
        raise ValueError(f"delay(): max_pending must be an int >= 1, got {max_pending!r}")
    in_transit: AsyncQueue[tuple[float, Any]] = AsyncQueue(maxsize=max_pending)
    ended = object()

    async def receive() -> None:
        try:
            async for item in source:
                await in_transit.put((now() + seconds, item))
        except TaskCancelled:  # the node is done (it closes its helpers)
            raise
        except Exception as error:  # handed to the node, which raises it
            await in_transit.put((now(), Failure(error)))
            return
        await in_transit.put((now() + seconds, ended))

    async with Helpers() as helpers:
        await helpers.start(receive())
        while True:
            due, item = await in_transit.get()
            wait = due - now()
            if wait > 0:
                await sleep(wait)
            if item is ended:
                return
            if item.__class__ is Failure:
                raise item.error
            yield item


@with_keywords
@node(stream_in=["source"], accumulate=last_item)
async def timeout(source: Stream[T], per_item: float | None = None, total: float | None = None) -> AsyncGenerator[T, None]:
    """Pass items on, but fail with ``StreamTimeout`` when the next item (or the end) takes more
    than ``per_item`` seconds, or the whole stream more than ``total`` seconds. Both count from
    when the node starts, which is when its source's first item is ready. The source's stream is
    cancelled first, so the source stops.

    >>> from flowno_core import FlowHDL, VirtualClock
    >>> from flowno_nodes import collect, interval, timeout
    >>> with FlowHDL(clock=VirtualClock()) as f:
    ...     f.ticks = interval(1.0, limit=5)          # ticks at 1, 2, 3, 4, 5
    ...     f.bounded = timeout(f.ticks, per_item=2.0, total=3.5)  # starts at 1: ends by 4.5
    ...     f.result = collect(f.bounded)
    >>> f.run_until_complete()
    Traceback (most recent call last):
    ...
    flowno_nodes.operators.timing.StreamTimeout: the stream did not end within 3.5 s (after 4 items)
    raised by node bounded (timeout) while computing generation (0, 4)
    """
    _check_seconds("timeout", "per_item", per_item, optional=True)
    _check_seconds("timeout", "total", total, optional=True)
    if per_item is None and total is None:
        raise ValueError("timeout(): give per_item=, total= or both")
    started = now()
    items = source.__aiter__()
    passed = 0
    while True:
        limit = per_item
        if total is not None:
            left = started + total - now()
            limit = left if limit is None else min(limit, left)
        try:
            arrived, item = await next_before(items, limit)
        except StopAsyncIteration:
            return
        if not arrived:
            await source.cancel()
            if total is not None and now() >= started + total:
                raise StreamTimeout(f"the stream did not end within {total} s (after {passed} items)")
            raise StreamTimeout(f"no item within {per_item} s (after {passed} items)")
        yield item  # type: ignore[misc]
        passed += 1
