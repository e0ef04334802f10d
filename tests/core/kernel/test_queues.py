"""AsyncQueue, AsyncSetQueue and azip."""

from __future__ import annotations

import pytest

from flowno_core import (
    AsyncQueue,
    AsyncSetQueue,
    QueueClosedError,
    azip,
    current_event_loop,
    sleep,
)


def start(coro):
    return current_event_loop().create_task(coro)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await sleep(0)


# ---------------------------------------------------------------------------------------- AsyncQueue


async def test_queue_is_fifo_and_get_of_a_ready_item_does_not_yield():
    queue: AsyncQueue[int] = AsyncQueue()
    trace = []

    async def other():
        trace.append("other")

    start(other())
    for i in range(3):
        await queue.put(i)
    assert len(queue) == 3
    got = [await queue.get() for _ in range(3)]
    trace.append("main")
    await sleep(0)
    assert got == [0, 1, 2]
    assert trace == ["main", "other"]


async def test_queue_getters_are_served_in_fifo_order():
    queue: AsyncQueue[int] = AsyncQueue()
    got = []

    async def getter(i):
        got.append((i, await queue.get()))

    for i in range(5):
        start(getter(i))
    await settle()
    for item in range(5):
        await queue.put(item * 10)
    await settle()
    assert got == [(i, i * 10) for i in range(5)]


async def test_queue_get_waits_for_a_put(virtual_clock):
    queue: AsyncQueue[str] = AsyncQueue()

    async def producer():
        await sleep(3)
        await queue.put("late")

    start(producer())
    assert await queue.get() == "late"
    assert virtual_clock.now() == 3


async def test_bounded_queue_put_waits_while_full():
    queue: AsyncQueue[int] = AsyncQueue(maxsize=2)
    trace = []

    async def producer():
        for i in range(5):
            await queue.put(i)
            trace.append(("put", i))

    start(producer())
    await settle()
    assert trace == [("put", 0), ("put", 1)]
    assert len(queue) == 2
    assert await queue.get() == 0
    await settle()
    assert trace[-1] == ("put", 2)
    assert len(queue) == 2
    rest = [await queue.get() for _ in range(4)]
    assert rest == [1, 2, 3, 4]


async def test_bounded_queue_putters_are_served_in_fifo_order():
    queue: AsyncQueue[str] = AsyncQueue(maxsize=1)
    await queue.put("x")
    for name in "abcd":
        start(queue.put(name))
    await settle()
    got = [await queue.get() for _ in range(5)]
    assert got == ["x", "a", "b", "c", "d"]


def test_queue_maxsize_must_be_positive():
    for bad in (0, -3):
        with pytest.raises(ValueError):
            AsyncQueue(maxsize=bad)


async def test_put_on_a_closed_queue_raises_queue_closed_error():
    queue: AsyncQueue[int] = AsyncQueue()
    await queue.close()
    assert queue.is_closed() and queue.closed
    with pytest.raises(QueueClosedError):
        await queue.put(1)


async def test_closed_queue_still_gives_its_items_then_raises():
    queue: AsyncQueue[int] = AsyncQueue()
    await queue.put(1)
    await queue.put(2)
    await queue.close()
    assert await queue.peek() == 1
    assert await queue.get() == 1
    assert await queue.get() == 2
    with pytest.raises(QueueClosedError):
        await queue.get()
    with pytest.raises(QueueClosedError):
        await queue.peek()


async def test_close_wakes_blocked_getters_and_putters():
    empty: AsyncQueue[int] = AsyncQueue()
    full: AsyncQueue[int] = AsyncQueue(maxsize=1)
    await full.put(0)
    outcomes = []

    async def attempt(name, awaitable):
        try:
            await awaitable
            outcomes.append((name, "ok"))
        except QueueClosedError:
            outcomes.append((name, "closed"))

    start(attempt("get1", empty.get()))
    start(attempt("get2", empty.get()))
    start(attempt("put", full.put(1)))
    await settle()
    assert outcomes == []
    await empty.close()
    full.close_nowait(current_event_loop())
    await settle()
    assert sorted(outcomes) == [("get1", "closed"), ("get2", "closed"), ("put", "closed")]
    assert await full.get() == 0  # the item already queued is still there


async def test_setting_closed_wakes_waiters_too():
    queue: AsyncQueue[int] = AsyncQueue()
    handle = start(queue.get())
    await settle()
    queue.closed = True
    with pytest.raises(QueueClosedError):
        await handle.join()


async def test_async_iteration_ends_when_closed_and_empty():
    queue: AsyncQueue[int] = AsyncQueue()

    async def producer():
        for i in range(4):
            await queue.put(i)
            await sleep(1)
        await queue.close()

    start(producer())
    assert [item async for item in queue] == [0, 1, 2, 3]


async def test_peek_waits_and_does_not_remove_or_swallow_a_getters_wakeup():
    queue: AsyncQueue[str] = AsyncQueue()
    results = []

    async def peeker():
        results.append(("peek", await queue.peek()))

    async def getter():
        results.append(("get", await queue.get()))

    start(peeker())
    start(getter())
    await settle()
    await queue.put("item")
    await settle()
    assert sorted(results) == [("get", "item"), ("peek", "item")]
    assert len(queue) == 0


async def test_until_empty_stops_at_the_first_empty_moment_and_closes_the_queue():
    queue: AsyncQueue[int] = AsyncQueue()
    for i in range(3):
        await queue.put(i)
    assert [item async for item in queue.until_empty()] == [0, 1, 2]
    assert queue.is_closed()
    with pytest.raises(QueueClosedError):
        await queue.put(9)


async def test_until_empty_on_an_empty_queue_ends_at_once():
    queue: AsyncQueue[int] = AsyncQueue()
    assert [item async for item in queue.until_empty()] == []
    assert queue.is_closed()


async def test_until_empty_frees_room_for_waiting_putters():
    queue: AsyncQueue[int] = AsyncQueue(maxsize=1)
    await queue.put(0)
    putter = start(queue.put(1))
    await settle()
    seen = []
    async for item in queue.until_empty():
        seen.append(item)
        await settle()  # the waiting putter gets the free slot
    assert seen == [0, 1]
    await putter.join()


# ---------------------------------------------------------------------------------------- AsyncSetQueue


async def test_set_queue_ignores_items_already_queued():
    queue: AsyncSetQueue[str] = AsyncSetQueue()
    await queue.put("a")
    await queue.put("b")
    await queue.put("a")
    await queue.putAll(["c", "b", "c"])
    assert len(queue) == 3
    assert "a" in queue and "c" in queue and "z" not in queue
    assert await queue.get() == "a"
    assert "a" not in queue
    await queue.put("a")  # no longer queued: accepted again
    assert [await queue.get() for _ in range(3)] == ["b", "c", "a"]


async def test_set_queue_put_nowait():
    queue: AsyncSetQueue[int] = AsyncSetQueue(maxsize=2)
    assert queue.put_nowait(1, current_event_loop()) is True
    assert queue.put_nowait(1) is False
    assert queue.put_nowait(2) is True
    with pytest.raises(RuntimeError, match="full"):
        queue.put_nowait(3)
    await queue.close()
    with pytest.raises(QueueClosedError):
        queue.put_nowait(4)
    with pytest.raises(QueueClosedError):
        await queue.put(1)  # even an item already queued


async def test_set_queue_put_nowait_wakes_a_getter():
    queue: AsyncSetQueue[str] = AsyncSetQueue()
    handle = start(queue.get())
    await settle()
    queue.put_nowait("x")
    assert await handle.join() == "x"


class _Counted:
    """Hashable item whose equality checks are counted (a linear scan would call __eq__ a lot)."""

    eq_calls = 0

    def __init__(self, key: int) -> None:
        self.key = key

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        _Counted.eq_calls += 1
        return isinstance(other, _Counted) and other.key == self.key


async def test_set_queue_dedupe_is_a_hash_lookup_not_a_scan():
    queue: AsyncSetQueue[_Counted] = AsyncSetQueue()
    _Counted.eq_calls = 0
    for i in range(2000):
        await queue.put(_Counted(i))
    assert _Counted.eq_calls == 0
    await queue.put(_Counted(1500))  # duplicate: found with one comparison
    assert _Counted.eq_calls == 1
    assert len(queue) == 2000
    assert _Counted(5) in queue
    assert _Counted.eq_calls == 2


# ---------------------------------------------------------------------------------------- azip


async def _agen(items, log=None, name=""):
    try:
        for item in items:
            yield item
    finally:
        if log is not None:
            log.append(f"{name} closed")


async def test_azip_zips_in_lockstep():
    assert [pair async for pair in azip(_agen([1, 2, 3]), _agen("abc"))] == [(1, "a"), (2, "b"), (3, "c")]


async def test_azip_stops_at_the_first_exhausted_iterator_and_does_not_close_the_others():
    log = []
    long = _agen([1, 2, 3, 4, 5], log, "long")
    short = _agen("ab", log, "short")
    assert [pair async for pair in azip(long, short)] == [(1, "a"), (2, "b")]
    assert log == ["short closed"]  # `long` was not closed...
    # ...it was advanced once more (3 was read before `short` ran out) and can go on
    assert [item async for item in long] == [4, 5]
    assert log == ["short closed", "long closed"]


async def test_azip_with_one_or_no_iterators():
    assert [row async for row in azip(_agen([1, 2]))] == [(1,), (2,)]
    assert [row async for row in azip()] == []


async def test_azip_over_queues_waits_for_each():
    left: AsyncQueue[int] = AsyncQueue()
    right: AsyncQueue[str] = AsyncQueue()

    async def feed():
        for i, ch in enumerate("xyz"):
            await sleep(1)
            await left.put(i)
            await sleep(1)
            await right.put(ch)
        await left.close()

    start(feed())
    assert [pair async for pair in azip(left, right)] == [(0, "x"), (1, "y"), (2, "z")]
