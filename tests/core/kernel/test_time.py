"""Sleep, timers and the virtual clock."""

from __future__ import annotations

import pytest

from flowno_core import EventLoop, current_event_loop, exit, sleep
from flowno_core._kernel.clock import MonotonicClock, VirtualClock


async def test_sleep_returns_the_elapsed_time(virtual_clock):
    assert await sleep(2.5) == 2.5
    assert virtual_clock.now() == 2.5


async def test_sleep_zero_and_negative_return_zero_and_take_no_time(virtual_clock):
    assert await sleep(0) == 0.0
    assert await sleep(-1) == 0.0
    assert virtual_clock.now() == 0.0


async def test_sleep_zero_yields_exactly_once():
    trace = []

    async def other():
        for i in range(3):
            trace.append(f"other{i}")
            await sleep(0)

    current_event_loop().create_task(other())
    trace.append("main0")
    await sleep(0)
    trace.append("main1")
    await sleep(0)
    trace.append("main2")
    assert trace == ["main0", "other0", "main1", "other1", "main2"]


async def test_a_long_sleep_in_virtual_time_takes_no_wall_time(virtual_clock):
    # an hour of loop time; the test's own timeout proves it did not really wait
    assert await sleep(3600) == 3600
    assert virtual_clock.now() == 3600


async def test_sleepers_wake_in_deadline_order(virtual_clock):
    woke = []

    async def sleeper(name, seconds):
        await sleep(seconds)
        woke.append((name, virtual_clock.now()))

    loop = current_event_loop()
    for name, seconds in [("c", 3), ("a", 1), ("d", 4), ("b", 2)]:
        loop.create_task(sleeper(name, seconds))
    await sleep(10)
    assert woke == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]


async def test_equal_deadlines_keep_insertion_order():
    woke = []

    async def sleeper(i):
        await sleep(5)
        woke.append(i)

    loop = current_event_loop()
    for i in range(20):
        loop.create_task(sleeper(i))
    await sleep(6)
    assert woke == list(range(20))


async def test_equal_deadline_callbacks_keep_insertion_order():
    loop = current_event_loop()
    fired = []
    for i in range(10):
        loop.call_later(1, fired.append, i)
    await sleep(2)
    assert fired == list(range(10))


async def test_call_later_runs_at_its_deadline_and_can_be_cancelled(virtual_clock):
    loop = current_event_loop()
    fired = []
    loop.call_later(2, lambda: fired.append(("two", virtual_clock.now())))
    handle = loop.call_later(1, lambda: fired.append(("cancelled", virtual_clock.now())))
    loop.call_later(-5, lambda: fired.append(("negative", virtual_clock.now())))
    handle.cancel()
    handle.cancel()  # idempotent
    await sleep(3)
    assert fired == [("negative", 0.0), ("two", 2.0)]


async def test_virtual_clock_advance_by_hand_wakes_due_sleepers(virtual_clock):
    woke = []

    async def sleeper():
        elapsed = await sleep(10)
        woke.append((virtual_clock.now(), elapsed))

    current_event_loop().create_task(sleeper())
    await sleep(0)  # the sleeper is now parked until t=10
    virtual_clock.advance(25)
    await sleep(0)
    await sleep(0)
    assert woke == [(25.0, 25.0)]


def test_virtual_clock_rejects_going_backwards():
    clock = VirtualClock(start=100)
    assert clock.now() == 100
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.jump_to(50)  # never backwards
    assert clock.now() == 100
    clock.jump_to(150)
    assert clock.now() == 150


def test_loop_time_follows_its_clock():
    clock = VirtualClock(start=7)
    loop = EventLoop(clock=clock)
    assert loop.clock is clock
    assert loop.time() == 7

    async def main():
        await sleep(3)
        return current_event_loop().time()

    assert loop.run_until_complete(main(), join=True) == 10


def test_default_clock_is_monotonic_and_sleep_returns_elapsed_on_it():
    loop = EventLoop()
    assert isinstance(loop.clock, MonotonicClock)

    async def main():
        return await sleep(0.001)

    elapsed = loop.run_until_complete(main(), join=True)
    assert elapsed >= 0.001  # at least the requested time, never less


@pytest.mark.timeout(10)
def test_timers_left_at_the_end_of_a_run_are_dropped_and_cancelling_them_later_is_harmless():
    loop = EventLoop(clock=VirtualClock())
    handles = []
    fired = []

    async def first():
        handles.append(current_event_loop().call_later(100, fired.append, "stale"))
        await exit("early")  # ends the run while the timer is still armed

    assert loop.run_until_complete(first(), join=True) == "early"
    handles[0].cancel()  # after its run ended

    async def second():
        return await sleep(200)

    assert loop.run_until_complete(second(), join=True) == 200
    assert fired == []


def test_run_ends_after_pending_callbacks_fired():
    loop = EventLoop(clock=VirtualClock())
    fired = []

    async def main():
        current_event_loop().call_later(50, lambda: fired.append(loop.time()))
        return "root done"

    assert loop.run_until_complete(main(), join=True) == "root done"
    assert fired == [50.0]


async def test_disarmed_timers_do_not_pile_up(virtual_clock):
    from flowno_core import AsyncQueue, fail_after

    loop = current_event_loop()
    queue: AsyncQueue[int] = AsyncQueue()
    for i in range(5000):
        with fail_after(60):  # never expires: its timer is cancelled on exit
            await queue.put(i)
            await queue.get()
    assert len(loop._timers) < 200
    assert virtual_clock.now() == 0
    assert await sleep(61) == 61  # and the loop's timer bookkeeping is still right


async def test_cancelling_many_timers_from_a_firing_callback_keeps_the_rest_in_order():
    loop = current_event_loop()
    fired = []
    handles = []

    def callback(i):
        fired.append(i)
        if i == 10:
            for j in range(11, 300, 2):  # enough cancels to compact the heap while it fires
                handles[j].cancel()

    for i in range(300):
        handles.append(loop.call_later(1, callback, i))
    await sleep(2)
    assert fired == list(range(11)) + list(range(12, 300, 2))
