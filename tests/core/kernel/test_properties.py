"""Property tests (hypothesis) for the kernel's scheduling promises, in virtual time: queues deliver
every item exactly once in FIFO order, locks and semaphores serve waiters in request order, and
random cancellations never strand or double-wake anyone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_core import AsyncQueue, EventLoop, Lock, Semaphore, TaskCancelled, sleep, spawn
from flowno_core._kernel.clock import VirtualClock

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def run(coro):
    return EventLoop(clock=VirtualClock()).run_until_complete(coro, join=True)


delays = st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8)


@SETTINGS
@given(
    maxsize=st.sampled_from([None, 1, 2, 5]),
    producers=st.lists(delays, min_size=1, max_size=4),
    consumer_delays=st.lists(delays, min_size=1, max_size=4),
)
def test_queue_delivers_every_item_once_in_fifo_order(maxsize, producers, consumer_delays):
    async def main():
        queue: AsyncQueue[tuple[int, int]] = AsyncQueue(maxsize=maxsize)
        taken: list[tuple[int, int]] = []

        async def producer(p, pauses):
            for n, pause in enumerate(pauses):
                await sleep(pause)
                await queue.put((p, n))

        async def consumer(pauses):
            i = 0
            async for item in queue:
                taken.append(item)
                await sleep(pauses[i % len(pauses)])
                i += 1

        producer_handles = [await spawn(producer(p, pauses)) for p, pauses in enumerate(producers)]
        consumer_handles = [await spawn(consumer(pauses)) for pauses in consumer_delays]
        for handle in producer_handles:
            await handle.join()
        await queue.close()
        for handle in consumer_handles:
            await handle.join()
        return taken

    taken = run(main())
    expected = [(p, n) for p, pauses in enumerate(producers) for n in range(len(pauses))]
    assert sorted(taken) == sorted(expected)
    for p in range(len(producers)):
        assert [n for q, n in taken if q == p] == list(range(len(producers[p])))


@SETTINGS
@given(
    permits=st.integers(min_value=1, max_value=3),
    tasks=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=10),
)
def test_semaphore_and_lock_serve_waiters_in_request_order(permits, tasks):
    async def main(primitive, limit):
        requested: list[int] = []
        acquired: list[int] = []
        holding: list[int] = []
        peak = [0]

        async def worker(i, arrive, hold):
            await sleep(arrive)
            requested.append(i)
            async with primitive:
                acquired.append(i)
                holding.append(i)
                peak[0] = max(peak[0], len(holding))
                await sleep(hold)
                holding.remove(i)

        handles = [await spawn(worker(i, arrive, hold)) for i, (arrive, hold) in enumerate(tasks)]
        for handle in handles:
            await handle.join()
        assert peak[0] <= limit
        return requested, acquired

    for primitive, limit in ((Semaphore(permits), permits), (Lock(), 1)):
        requested, acquired = run(main(primitive, limit))
        assert acquired == requested


@SETTINGS
@given(
    waiters=st.integers(min_value=1, max_value=8),
    cancelled=st.sets(st.integers(min_value=0, max_value=7)),
    cancel_at=st.integers(min_value=0, max_value=3),
)
def test_random_cancels_of_lock_waiters_strand_nobody(waiters, cancelled, cancel_at):
    cancelled = {i for i in cancelled if i < waiters}

    async def main():
        lock = Lock()
        throws: dict[int, int] = {}
        acquired: list[int] = []

        async def waiter(i):
            try:
                async with lock:
                    acquired.append(i)
                    await sleep(1)
            except TaskCancelled:
                throws[i] = throws.get(i, 0) + 1
                raise

        await lock.acquire()
        handles = [await spawn(waiter(i)) for i in range(waiters)]
        await sleep(cancel_at)
        for i in sorted(cancelled):
            handles[i].cancel()
            handles[i].cancel()
        await lock.release()
        for i, handle in enumerate(handles):
            try:
                await handle.join()
            except TaskCancelled:
                assert i in cancelled
        return throws, acquired, lock.is_locked()

    throws, acquired, locked = run(main())
    assert acquired == [i for i in range(waiters) if i not in cancelled]
    assert throws == {i: 1 for i in cancelled}
    assert not locked
