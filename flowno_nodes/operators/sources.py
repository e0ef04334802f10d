"""Source operators: streams that start from a Python value, a clock or another thread.

Each is an async-generator node without stream inputs; it runs again (from the start) whenever the
flow asks for a new generation of it. Files are read by ``flowno_nodes.FileLines``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any, TypeVar

from flowno_core import Inlet, node, sleep

from .._wiring import with_keywords
from ._support import last_item, now

T = TypeVar("T")


@with_keywords
@node(accumulate=last_item)
async def from_iterable(items: Iterable[T] | AsyncIterable[T]) -> AsyncGenerator[T, None]:
    """Stream the items of an iterable or an async iterable, one chunk each.

    A one-shot iterator (a generator object) is used up by the first run; pass a list, a range or
    another re-iterable object if the flow runs the node more than once.

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, from_iterable
    >>> with FlowHDL() as f:
    ...     f.letters = from_iterable("abc")
    ...     f.result = collect(f.letters)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    (['a', 'b', 'c'],)
    """
    if hasattr(items, "__aiter__"):
        async for item in items:  # type: ignore[union-attr]
            yield item
        return
    if not hasattr(items, "__iter__"):
        raise TypeError(f"from_iterable(): expected an iterable or async iterable, got {items!r}")
    for item in items:  # type: ignore[union-attr]
        yield item


@with_keywords
@node(accumulate=last_item)
async def count(start: int | float = 0, step: int | float = 1, stop: int | float | None = None) -> AsyncGenerator[Any, None]:
    """Stream ``start``, ``start + step``, ``start + 2*step``, ... up to ``stop`` (excluded), or
    without end when ``stop`` is None (end it downstream with ``take`` or ``take_while``).

    >>> from flowno_core import FlowHDL
    >>> from flowno_nodes import collect, count
    >>> with FlowHDL() as f:
    ...     f.numbers = count(10, 5, stop=30)
    ...     f.result = collect(f.numbers)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([10, 15, 20, 25],)
    """
    if step == 0:
        raise ValueError("count(): step must not be 0 (the stream would repeat one number forever)")
    value = start
    if stop is None:
        while True:
            yield value
            value += step
    while (value < stop) if step > 0 else (value > stop):
        yield value
        value += step


@with_keywords
@node(accumulate=last_item)
async def interval(seconds: float, limit: int | None = None) -> AsyncGenerator[int, None]:
    """Tick every ``seconds`` of loop time: stream 0, 1, 2, ... (``limit`` ticks, or without end).

    Ticks are due at ``seconds``, ``2*seconds``, ... after the start, so they do not drift. A tick
    that is late (its consumer was slow) is delivered at once; none is skipped.

    >>> from flowno_core import FlowHDL, VirtualClock
    >>> from flowno_nodes import collect, interval
    >>> with FlowHDL(clock=VirtualClock()) as f:       # virtual time: no real waiting
    ...     f.ticks = interval(0.5, limit=3)
    ...     f.result = collect(f.ticks)
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([0, 1, 2],)
    """
    if not seconds > 0:
        raise ValueError(f"interval(): seconds must be a positive number, got {seconds!r}")
    started = now()
    tick = 0
    while limit is None or tick < limit:
        wait = started + (tick + 1) * seconds - now()
        if wait > 0:
            await sleep(wait)
        yield tick
        tick += 1


@with_keywords
@node(accumulate=last_item)
async def from_inlet(inlet: Inlet[T]) -> AsyncGenerator[T, None]:
    """Stream what other threads ``put`` into an ``Inlet`` (flowno_core's thread-safe queue), until
    it is closed. The run stays alive while the inlet is open (see docs/inlet.md).

    >>> import threading
    >>> from flowno_core import FlowHDL, Inlet
    >>> from flowno_nodes import collect, from_inlet
    >>> readings = Inlet()
    >>> def sensor():
    ...     for value in (1.5, 2.5):
    ...         readings.put(value)
    ...     readings.close()
    >>> with FlowHDL() as f:
    ...     f.readings = from_inlet(readings)
    ...     f.result = collect(f.readings)
    >>> threading.Thread(target=sensor).start()
    >>> report = f.run_until_complete()
    >>> f.result.get_data()
    ([1.5, 2.5],)
    """
    if not isinstance(inlet, Inlet):
        raise TypeError(f"from_inlet(): expected a flowno_core.Inlet, got {inlet!r}")
    async for item in inlet:
        yield item
