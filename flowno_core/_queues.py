"""AsyncQueue and AsyncSetQueue, built directly on parking lots.

Theory of operation: a queue is a deque plus two lots, getters and putters. ``get`` takes an item at
once if there is one (no yield); otherwise it parks and, when woken, looks again (so an item taken
by someone else in between is not an error, and a cancelled getter never swallows an item: the
kernel only throws into a woken task at its next checkpoint). ``put`` appends and wakes the oldest
getter; with ``maxsize`` it parks while the queue is full. ``close`` wakes everybody; getters drain
what is left and then get ``QueueClosedError``. ``AsyncSetQueue`` keeps a membership dict so
``put`` of an item already queued and ``in`` are O(1). ``ClosableQueue`` is the face the queues
and ``Inlet`` share: ``closed``, ``len()``, a repr, and iteration that ends at close.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Hashable, Iterable
from typing import Any, Generic, TypeVar

from ._kernel.instruments import active_loop_instrument
from ._kernel.parking import ParkingLot
from ._kernel.traps import park_trap
from .errors import QueueClosedError

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)


class ClosableQueue(ABC, Generic[T]):
    """A queue that can be closed: ``get`` raises QueueClosedError once it is closed and empty,
    and async iteration over ``get`` ends then."""

    def __init__(self) -> None:
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    async def get(self) -> T: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} items={len(self)} closed={self._closed}>"

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except QueueClosedError:
            raise StopAsyncIteration from None


class AsyncQueue(ClosableQueue[T]):
    """A FIFO queue for tasks, optionally bounded, that can be closed.

    Example::

        queue = AsyncQueue[int](maxsize=10)

        async def producer():
            for i in range(3):
                await queue.put(i)
            await queue.close()

        async def consumer():
            async for item in queue:    # ends when closed and empty
                print(item)
    """

    def __init__(self, maxsize: int | None = None) -> None:
        if maxsize is not None and maxsize <= 0:
            raise ValueError(f"maxsize must be a positive int or None, got {maxsize!r}")
        super().__init__()
        self.items: deque[T] = deque()
        self.maxsize = maxsize
        self._getters = ParkingLot("an item from an AsyncQueue")
        self._putters = ParkingLot("room in a full AsyncQueue")

    # -- state ------------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @closed.setter
    def closed(self, value: bool) -> None:  # flowno's queues could be closed by assignment
        self._closed = value
        if value:
            self._wake_everyone()

    def is_closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self.items)

    # -- operations -------------------------------------------------------------------------------
    async def put(self, item: T) -> None:
        """Append ``item``; waits while the queue is full. Raises QueueClosedError if closed."""
        while True:
            if self._closed:
                raise QueueClosedError(f"cannot put {item!r}: the queue is closed")
            if self.maxsize is None or len(self.items) < self.maxsize:
                break
            await park_trap(self._putters.park_command)
        self._append(item)

    def _append(self, item: T) -> None:
        self.items.append(item)
        instrument = active_loop_instrument()
        if instrument is not None:
            instrument.on_queue_put(self, item, True)
        if self._getters:
            self._getters.unpark_one()

    async def get(self) -> T:
        """Take the oldest item; waits while empty. Raises QueueClosedError if closed and empty."""
        items = self.items
        while not items:
            if self._closed:
                raise QueueClosedError("the queue is closed and empty")
            await park_trap(self._getters.park_command)
        item = items.popleft()
        self._taken(item)
        return item

    def _taken(self, item: T) -> None:
        instrument = active_loop_instrument()
        if instrument is not None:
            instrument.on_queue_get(self, item, True)
        if self._putters:
            self._putters.unpark_one()
        if self.items and self._getters:
            self._getters.unpark_one()  # more items than woken getters: pass the turn on

    async def peek(self) -> T:
        """The oldest item without removing it; waits while empty."""
        while not self.items:
            if self._closed:
                raise QueueClosedError("the queue is closed and empty")
            await park_trap(self._getters.park_command)
        item = self.items[0]
        if self._getters:
            self._getters.unpark_one()  # a peek must not swallow the wake-up of a getter
        return item

    async def close(self) -> None:
        """Close the queue: puts fail, gets drain what is left then fail, iteration ends."""
        self.close_nowait(None)

    def close_nowait(self, event_loop: Any = None) -> None:
        """Synchronous ``close`` (for command handlers and callbacks)."""
        self._closed = True
        self._wake_everyone()

    def _wake_everyone(self) -> None:
        self._getters.unpark_all()
        self._putters.unpark_all()

    # -- iteration --------------------------------------------------------------------------------
    def until_empty(self) -> AsyncIterator[T]:
        """Iterate until the first moment the queue is empty, then close it."""
        return _UntilEmpty(self)


class _UntilEmpty(AsyncIterator[T]):
    def __init__(self, queue: AsyncQueue[T]) -> None:
        self._queue = queue

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        queue = self._queue
        if not queue.items:
            queue.close_nowait()
            raise StopAsyncIteration
        item = queue.items.popleft()
        queue._taken(item)
        return item


class AsyncSetQueue(AsyncQueue[H]):
    """An AsyncQueue that ignores ``put`` of an item that is already queued (O(1)).

    Example::

        queue = AsyncSetQueue[str]()
        await queue.put("a"); await queue.put("a")
        assert len(queue) == 1
    """

    def __init__(self, maxsize: int | None = None) -> None:
        super().__init__(maxsize)
        self._members: dict[H, None] = {}

    def __contains__(self, item: object) -> bool:
        return item in self._members

    async def put(self, item: H) -> None:
        if item in self._members:
            if self._closed:
                raise QueueClosedError(f"cannot put {item!r}: the queue is closed")
            return
        await super().put(item)

    async def putAll(self, items: Iterable[H]) -> None:  # noqa: N802 - flowno's name
        """Put each item (duplicates ignored)."""
        for item in items:
            await self.put(item)

    def put_nowait(self, item: H, event_loop: Any = None) -> bool:
        """Put without waiting; True if added, False if already queued. Full or closed raises."""
        if item in self._members:
            return False
        if self._closed:
            raise QueueClosedError(f"cannot put {item!r}: the queue is closed")
        if self.maxsize is not None and len(self.items) >= self.maxsize:
            raise RuntimeError(f"cannot put {item!r} without waiting: the queue is full (maxsize={self.maxsize})")
        self._append(item)
        return True

    def _append(self, item: H) -> None:
        self._members[item] = None
        super()._append(item)

    def _taken(self, item: H) -> None:
        self._members.pop(item, None)
        super()._taken(item)
