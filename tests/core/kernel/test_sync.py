"""Event, Lock, Condition, Semaphore and CountdownLatch: semantics, FIFO fairness (D12) and
errors for misuse (releasing a lock you do not hold)."""

from __future__ import annotations

import contextvars

import pytest

from flowno_core import (
    Condition,
    CountdownLatch,
    Event,
    Lock,
    Semaphore,
    current_event_loop,
    sleep,
    spawn,
)
from flowno_core.errors import LockNotOwnedError, ZeroLatchError


def start(coro):
    """Queue ``coro`` without running it yet (so tasks start in a known order)."""
    return current_event_loop().create_task(coro)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await sleep(0)


# ---------------------------------------------------------------------------------------- Event


async def test_event_waiters_wake_in_the_order_they_started_waiting_and_before_the_setter():
    event = Event()
    order = []

    async def waiter(i):
        await event.wait()
        order.append(i)

    for i in range(6):
        start(waiter(i))
    await settle()
    assert order == []
    assert not event.is_set()
    await event.set()
    order.append("setter")
    assert order == [0, 1, 2, 3, 4, 5, "setter"]
    assert event.is_set()


async def test_event_wait_on_a_set_event_returns_without_yielding():
    event = Event()
    await event.set()
    trace = []

    async def other():
        trace.append("other")

    start(other())
    await event.wait()
    trace.append("main")  # we did not yield, so `other` has not run yet
    await sleep(0)
    assert trace == ["main", "other"]


async def test_event_set_twice_is_a_no_op_and_set_without_waiters_does_not_yield():
    event = Event()
    trace = []

    async def other():
        trace.append("other")

    start(other())
    await event.set()
    await event.set()
    trace.append("main")
    await sleep(0)
    assert trace == ["main", "other"]
    assert event.set_nowait() is False


async def test_event_set_nowait_wakes_waiters():
    event = Event()
    woke = []

    async def waiter():
        await event.wait()
        woke.append(True)

    start(waiter())
    await sleep(0)
    assert event.set_nowait() is True
    await sleep(0)
    assert woke == [True]


# ---------------------------------------------------------------------------------------- Lock


async def test_lock_hands_off_in_fifo_order():
    lock = Lock()
    order = []

    async def worker(i):
        async with lock:
            order.append(("in", i))
            await sleep(1)
            order.append(("out", i))

    await lock.acquire()
    for i in range(5):
        start(worker(i))
    await settle()
    assert order == []
    await lock.release()
    await sleep(100)
    assert order == [x for i in range(5) for x in (("in", i), ("out", i))]
    assert not lock.is_locked()


async def test_lock_release_hands_the_lock_to_the_oldest_waiter_who_runs_before_the_releaser():
    lock = Lock()
    trace = []

    async def waiter():
        await lock.acquire()
        trace.append(("waiter got it", lock.is_locked()))
        await lock.release()

    await lock.acquire()
    start(waiter())
    await sleep(0)
    await lock.release()
    trace.append("releaser resumed")
    assert trace == [("waiter got it", True), "releaser resumed"]


async def test_uncontended_lock_acquire_and_release_do_not_yield():
    lock = Lock()
    trace = []

    async def other():
        trace.append("other")

    start(other())
    await lock.acquire()
    assert lock.is_locked()
    await lock.release()
    trace.append("main")
    await sleep(0)
    assert trace == ["main", "other"]


async def test_lock_is_not_reentrant():
    lock = Lock()
    async with lock:
        with pytest.raises(RuntimeError, match="not reentrant"):
            await lock.acquire()
    assert not lock.is_locked()


async def test_releasing_a_lock_you_do_not_hold_raises_in_that_task_only():
    lock = Lock()
    progress = []

    async def intruder():
        await lock.release()

    async def bystander():
        await sleep(1)
        progress.append("bystander")

    await lock.acquire()
    intruder_handle = await spawn(intruder())
    bystander_handle = await spawn(bystander())
    with pytest.raises(LockNotOwnedError, match="does not hold") as info:
        await intruder_handle.join()
    assert isinstance(info.value, RuntimeError)
    assert "intruder" in str(info.value)
    await bystander_handle.join()
    assert progress == ["bystander"]
    assert lock.is_locked()  # still ours
    await lock.release()


async def test_releasing_a_free_lock_raises():
    lock = Lock()
    with pytest.raises(LockNotOwnedError, match="owner: nobody"):
        await lock.release()


async def test_lock_outside_a_task_is_a_clear_error():
    lock = Lock()
    coro = lock.acquire()
    with pytest.raises(RuntimeError, match="must be awaited inside a flowno_core task"):
        contextvars.Context().run(coro.send, None)  # driven by hand, outside any task's context
    coro.close()


# ---------------------------------------------------------------------------------------- Condition


async def test_condition_notify_wakes_waiters_in_fifo_order():
    # D12: flowno woke w5, w2, w1, w4, w3, w0; flowno_core wakes w0 ... w5
    cond = Condition()
    order = []

    async def waiter(i):
        async with cond:
            await cond.wait()
            order.append(f"w{i}")

    for i in range(6):
        start(waiter(i))
    await settle()
    for _ in range(6):
        async with cond:
            await cond.notify()
        await settle()
    assert order == [f"w{i}" for i in range(6)]


async def test_condition_notify_all_wakes_every_waiter_in_fifo_order_once_the_lock_is_free():
    cond = Condition()
    order = []

    async def waiter(i):
        async with cond:
            await cond.wait()
            order.append(i)
            assert cond.lock.is_locked()

    for i in range(6):
        start(waiter(i))
    await settle()
    async with cond:
        await cond.notify_all()
        await sleep(1)
        assert order == []  # they wait for the lock we still hold
    await settle(10)
    assert order == list(range(6))


async def test_condition_notify_with_n_greater_than_one_wakes_all():
    cond = Condition()
    woke = []

    async def waiter(i):
        async with cond:
            await cond.wait()
            woke.append(i)

    for i in range(4):
        start(waiter(i))
    await settle()
    async with cond:
        await cond.notify(2)
    await settle(10)
    assert woke == [0, 1, 2, 3]


async def test_condition_notify_without_waiters_is_harmless():
    cond = Condition()
    async with cond:
        await cond.notify()
        await cond.notify_all()
    assert cond.notify_nowait() is False
    assert cond.notify_all_nowait() == 0


async def test_condition_wait_returns_holding_the_lock():
    cond = Condition()
    state = []

    async def waiter():
        async with cond:
            while not state:
                await cond.wait()
            return cond.lock.owner is not None and cond.lock.is_locked()

    handle = await spawn(waiter())
    await sleep(0)
    async with cond:
        state.append(1)
        await cond.notify()
    assert await handle.join() is True


async def test_condition_with_a_shared_lock():
    lock = Lock()
    cond = Condition(lock)
    assert cond.lock is lock
    woke = []

    async def waiter():
        async with lock:
            await cond.wait()
            woke.append(True)

    start(waiter())
    await settle()
    async with lock:
        await cond.notify()
    await settle()
    assert woke == [True]


@pytest.mark.parametrize("method", ["wait", "notify", "notify_all"])
async def test_condition_methods_without_the_lock_raise_in_that_task(method):
    cond = Condition()
    with pytest.raises(LockNotOwnedError, match=f"Condition.{method}\\(\\) without holding its lock"):
        await getattr(cond, method)()
    assert not cond.lock.is_locked()


async def test_condition_notify_nowait_hands_a_free_lock_straight_to_the_waiter():
    cond = Condition()
    woke = []

    async def waiter(i):
        async with cond:
            await cond.wait()
            woke.append(i)

    for i in range(3):
        start(waiter(i))
    await settle()
    assert not cond.lock.is_locked()
    assert cond.notify_nowait(current_event_loop()) is True
    await settle()
    assert woke == [0]
    assert cond.notify_all_nowait(current_event_loop()) == 2
    await settle()
    assert woke == [0, 1, 2]


# ---------------------------------------------------------------------------------------- Semaphore


async def test_semaphore_limits_concurrency_and_wakes_in_fifo_order():
    sem = Semaphore(2)
    active = []
    peak = []
    order = []

    async def worker(i):
        async with sem:
            order.append(i)
            active.append(i)
            peak.append(len(active))
            await sleep(1)
            active.remove(i)

    for i in range(6):
        start(worker(i))
    await sleep(10)
    assert max(peak) == 2
    assert order == list(range(6))
    assert sem.value == 2


async def test_semaphore_rejects_negative_values_and_release_adds_permits():
    with pytest.raises(ValueError):
        Semaphore(-1)
    sem = Semaphore(0)
    await sem.release()
    assert sem.value == 1
    await sem.acquire()
    assert sem.value == 0


# ---------------------------------------------------------------------------------------- CountdownLatch


async def test_latch_releases_waiters_at_zero():
    latch = CountdownLatch(3)
    woke = []

    async def waiter(i):
        await latch.wait()
        woke.append(i)

    for i in range(3):
        start(waiter(i))
    await settle()
    await latch.count_down()
    await latch.count_down()
    await settle()
    assert woke == [] and latch.count == 1
    await latch.count_down()
    await settle()
    assert woke == [0, 1, 2]
    assert latch.count == 0
    await latch.wait()  # open: returns at once


async def test_latch_count_down_at_zero_is_ignored_or_raises_when_asked():
    latch = CountdownLatch(0)
    await latch.count_down()
    assert latch.count == 0
    with pytest.raises(CountdownLatch.ZeroLatchError):
        await latch.count_down(exception_if_zero=True)
    assert CountdownLatch.ZeroLatchError is ZeroLatchError
    with pytest.raises(ZeroLatchError):
        latch.countdown_nowait(None, exception_if_zero=True)


async def test_latch_set_count_rearms_it():
    latch = CountdownLatch(1)
    await latch.count_down()
    await latch.wait()  # released
    latch.set_count(2)  # re-armed (flowno kept it released)
    woke = []

    async def waiter():
        await latch.wait()
        woke.append(True)

    start(waiter())
    await settle()
    assert woke == []
    latch.countdown_nowait(current_event_loop())
    await settle()
    assert woke == []
    await latch.count_down()
    await settle()
    assert woke == [True]


async def test_latch_set_count_zero_releases_waiters_and_negative_counts_are_rejected():
    latch = CountdownLatch(5)
    woke = []

    async def waiter():
        await latch.wait()
        woke.append(True)

    start(waiter())
    await settle()
    latch.set_count(0)
    await settle()
    assert woke == [True]
    with pytest.raises(ValueError):
        latch.set_count(-1)
    with pytest.raises(ValueError):
        CountdownLatch(-2)
