"""Inlet: items put from other threads reach tasks in order, close ends the iteration, a cancelled
getter leaves the inlet, a full inlet blocks a feeding thread until a task takes an item, nothing
is lost with several feeding threads, and a task waiting on an open inlet keeps the run alive (no
stall, no virtual-time jump) until another thread puts."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import (
    Event,
    EventLoop,
    Inlet,
    QueueClosedError,
    TaskCancelled,
    current_event_loop,
    sleep,
    spawn,
    to_thread,
)
from flowno_core._kernel.clock import VirtualClock

pytestmark = pytest.mark.timeout(60)


def feed(inlet: Inlet, items, close: bool = True, after: threading.Event | None = None) -> threading.Thread:
    """Put ``items`` from a new thread (once ``after`` is set), then close the inlet."""

    def body():
        if after is not None:
            after.wait()
        for item in items:
            inlet.put(item)
        if close:
            inlet.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def signal_once_parked(event: threading.Event) -> None:
    """Set ``event`` from a loop callback, so it happens after the calling task has parked."""
    current_event_loop().call_later(0, event.set)


async def test_items_put_from_a_thread_reach_a_task_in_order(real_clock):
    inlet: Inlet[int] = Inlet()
    thread = feed(inlet, range(2000))
    assert [item async for item in inlet] == list(range(2000))
    thread.join()


async def test_close_ends_iteration_once_the_items_left_are_taken(real_clock):
    inlet: Inlet[str] = Inlet()
    parked = threading.Event()
    for item in "ab":
        inlet.put(item)
    thread = feed(inlet, ["c"], after=parked)  # puts "c" and closes while the task waits
    got = []
    async for item in inlet:
        got.append(item)
        if item == "b":
            signal_once_parked(parked)  # the next get waits on the open, empty inlet
    assert got == ["a", "b", "c"]
    assert inlet.closed and len(inlet) == 0
    with pytest.raises(QueueClosedError):
        await inlet.get()
    thread.join()


async def test_put_after_close_raises_from_a_thread_and_from_a_task():
    inlet: Inlet[int] = Inlet()
    inlet.close()
    inlet.close()  # idempotent
    errors = []

    def thread_put():
        try:
            inlet.put(1)
        except QueueClosedError as error:
            errors.append(error)

    await to_thread(thread_put)
    assert len(errors) == 1
    with pytest.raises(QueueClosedError):
        inlet.put(2)
    with pytest.raises(QueueClosedError):
        await inlet.aput(3)
    assert len(inlet) == 0


async def test_a_getter_cancelled_while_waiting_leaves_the_inlet(real_clock):
    inlet: Inlet[str] = Inlet()
    loop = current_event_loop()
    events = []

    async def getter():
        try:
            events.append(("got", await inlet.get()))
        except TaskCancelled:
            events.append("cancelled")

    handle = await spawn(getter())
    await sleep(0)
    assert loop.waits_on_outside()  # parked on the open inlet
    await handle.cancel()
    assert events == ["cancelled"]
    assert not loop.waits_on_outside()  # it left the inlet's waiters
    parked = threading.Event()
    thread = feed(inlet, ["item"], close=False, after=parked)
    signal_once_parked(parked)
    assert await inlet.get() == "item"  # the cancelled getter did not swallow it (or its wake-up)
    assert events == ["cancelled"]
    thread.join()


async def test_a_full_inlet_blocks_a_threads_put_until_a_task_gets(real_clock):
    inlet: Inlet[int] = Inlet(maxsize=1)
    trying = threading.Event()
    done = threading.Event()

    def producer():
        inlet.put(1)
        trying.set()
        inlet.put(2)  # blocks: the inlet is full
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    await to_thread(trying.wait)
    assert not done.is_set()
    assert len(inlet) == 1
    assert await inlet.get() == 1  # makes room: the producer's second put goes through
    assert await to_thread(done.wait, 30)
    assert await inlet.get() == 2
    thread.join()


async def test_close_wakes_a_thread_blocked_in_put(real_clock):
    inlet: Inlet[int] = Inlet(maxsize=1)
    inlet.put(1)
    trying = threading.Event()
    errors = []

    def producer():
        trying.set()
        try:
            inlet.put(2)
        except QueueClosedError as error:
            errors.append(error)

    thread = threading.Thread(target=producer)
    thread.start()
    await to_thread(trying.wait)
    inlet.close()
    await to_thread(thread.join)
    assert len(errors) == 1
    assert [item async for item in inlet] == [1]


async def test_in_a_task_put_on_a_full_inlet_raises_and_aput_waits_for_room():
    inlet: Inlet[int] = Inlet(maxsize=1)
    inlet.put(1)
    with pytest.raises(RuntimeError, match="aput"):
        inlet.put(2)
    order = []

    async def putter():
        await inlet.aput(2)
        order.append("put 2")

    await spawn(putter())
    await sleep(0)
    assert order == [] and len(inlet) == 1
    order.append(("got", await inlet.get()))
    await sleep(0)
    assert order == [("got", 1), "put 2"]
    assert await inlet.get() == 2


def test_get_outside_a_task_and_a_bad_maxsize_are_clear_errors():
    with pytest.raises(ValueError):
        Inlet(maxsize=0)
    inlet: Inlet[int] = Inlet()
    with pytest.raises(RuntimeError, match="inside a flowno_core task"):
        inlet.get().send(None)  # driven by hand, outside any loop


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=4),
    maxsize=st.sampled_from([None, 1, 3]),
    readers=st.integers(min_value=1, max_value=3),
)
def test_many_items_from_several_threads_are_all_delivered_in_each_threads_order(counts, maxsize, readers):
    inlet: Inlet[tuple[int, int]] = Inlet(maxsize=maxsize)
    feeders = [
        threading.Thread(target=lambda t=t, n=n: [inlet.put((t, i)) for i in range(n)]) for t, n in enumerate(counts)
    ]

    def close_when_fed():
        for feeder in feeders:
            feeder.join()
        inlet.close()

    async def reader():
        return [item async for item in inlet]

    async def main():
        handles = [await spawn(reader()) for _ in range(readers)]
        for thread in [*feeders, threading.Thread(target=close_when_fed)]:
            thread.start()
        return [await handle.join() for handle in handles]

    per_reader = EventLoop().run_until_complete(main(), join=True)
    everything = [item for got in per_reader for item in got]
    assert sorted(everything) == sorted((t, i) for t, n in enumerate(counts) for i in range(n))
    for got in per_reader:  # each reader sees each thread's items in the order they were put
        for t in range(len(counts)):
            mine = [i for thread, i in got if thread == t]
            assert mine == sorted(mine)


# ---------------------------------------------------------------------------------------- keeping the run alive


def test_a_run_whose_only_task_waits_on_an_open_inlet_waits_for_the_thread_instead_of_stalling():
    inlet: Inlet[str] = Inlet()
    stalls = []
    parked = threading.Event()

    def on_stall():
        stalls.append("stalled")
        inlet.close()  # a wrong stall must not hang the test

    async def main():
        signal_once_parked(parked)
        return await inlet.get()

    loop = EventLoop()
    loop.add_stall_handler(on_stall)
    thread = feed(inlet, ["from the thread"], close=False, after=parked)
    assert loop.run_until_complete(main(), join=True) == "from the thread"
    assert stalls == []
    thread.join()
    # once nothing waits on the inlet, a stall is a stall again
    assert not loop.waits_on_outside()


def test_a_virtual_clock_does_not_jump_past_a_task_waiting_on_an_open_inlet():
    inlet: Inlet[str] = Inlet()
    parked = threading.Event()
    clock = VirtualClock(io_grace=30)  # what it gives outside waits before a jump (a safety net)

    async def sleeper():
        await sleep(3600)

    async def main():
        await spawn(sleeper())
        signal_once_parked(parked)
        item = await inlet.get()
        return item, clock.now()

    thread = feed(inlet, ["early"], close=False, after=parked)
    assert EventLoop(clock=clock).run_until_complete(main(), join=True, wait_for_spawned_tasks=False) == (
        "early",
        0.0,
    )
    thread.join()


def test_a_closed_inlet_no_longer_keeps_a_run_alive():
    inlet: Inlet[str] = Inlet()
    stalls = []

    def on_stall():
        stalls.append("stalled")
        current_event_loop().stop("stopped at the stall")

    async def main():
        try:
            await inlet.get()
        except QueueClosedError:
            pass
        await sleep(0)
        await Event().wait()  # a wait no outside party can end: the loop stalls

    inlet.close()
    loop = EventLoop()
    loop.add_stall_handler(on_stall)
    assert loop.run_until_complete(main(), join=True) == "stopped at the stall"
    assert stalls == ["stalled"]
