"""fail_after and move_on_after: expiry, nesting, retraction of an expiry that was not delivered
before the block ended, and the interplay with cancellation."""

from __future__ import annotations

import pytest

from flowno_core import (
    Event,
    TaskCancelled,
    current_event_loop,
    fail_after,
    move_on_after,
    sleep,
    spawn,
)


async def test_fail_after_raises_timeout_error_at_the_deadline(virtual_clock):
    event = Event()
    with pytest.raises(TimeoutError, match=r"timed out after 2s \(waiting for the event\)"):
        with fail_after(2, "waiting for the event"):
            await event.wait()
    assert virtual_clock.now() == 2


async def test_fail_after_that_does_not_expire_is_disarmed(virtual_clock):
    with fail_after(5):
        assert await sleep(1) == 1
    assert await sleep(10) == 10  # no stray expiry after the block
    assert virtual_clock.now() == 11


async def test_move_on_after_leaves_the_block_silently(virtual_clock):
    reached = []
    with move_on_after(3) as scope:
        await sleep(10)
        reached.append("end of block")
    assert scope.expired
    assert reached == []
    assert virtual_clock.now() == 3


async def test_move_on_after_not_expiring():
    with move_on_after(3) as scope:
        await sleep(1)
    assert not scope.expired
    await sleep(5)


async def test_async_with_forms():
    async with move_on_after(1) as scope:
        await sleep(2)
    assert scope.expired
    with pytest.raises(TimeoutError):
        async with fail_after(1):
            await sleep(2)


async def test_except_exception_inside_the_block_does_not_swallow_the_expiry():
    caught = []
    with move_on_after(1) as scope:
        try:
            await sleep(5)
        except Exception as error:  # noqa: BLE001 - the point of the test
            caught.append(error)
    assert scope.expired
    assert caught == []


async def test_nested_inner_expires_first(virtual_clock):
    trace = []
    with fail_after(10):
        with move_on_after(1) as inner:
            await sleep(5)
        trace.append(("inner done", virtual_clock.now()))
        await sleep(2)
        trace.append(("outer body done", virtual_clock.now()))
    assert inner.expired
    assert trace == [("inner done", 1.0), ("outer body done", 3.0)]


async def test_nested_outer_expires_first_and_the_inner_scope_does_not_swallow_it(virtual_clock):
    trace = []
    with move_on_after(1) as outer:
        with move_on_after(10) as inner:
            await sleep(5)
        trace.append("after inner")  # must not run: the outer scope expired
    assert outer.expired and not inner.expired
    assert trace == []
    assert virtual_clock.now() == 1


async def test_nested_fail_after_outer_expiry_raises_from_the_outer_scope():
    with pytest.raises(TimeoutError, match="outer"):
        with fail_after(1, "outer"):
            with fail_after(10, "inner"):
                await sleep(5)


async def test_nested_scopes_with_the_same_deadline_outer_wins():
    with move_on_after(1) as outer:
        with fail_after(1, "inner"):
            await sleep(5)
    assert outer.expired


async def test_expiry_due_while_the_task_is_runnable_is_retracted_if_the_block_ends_first(virtual_clock):
    with move_on_after(1):
        virtual_clock.advance(5)  # the deadline passes while this task is running...
        await sleep(0)  # ...so the expiry is queued for the next checkpoint, but the block ends
    # no checkpoint inside the block after the expiry: nothing may be thrown after it
    assert await sleep(1) == 1
    assert await sleep(0) == 0


async def test_both_scopes_due_while_runnable_outer_wins(virtual_clock):
    # outer deadline first; both expiries become due in the same timer pass while the task is
    # runnable. The outer scope covers the inner one, so the outer block must end.
    trace = []
    with move_on_after(1) as outer:
        with fail_after(5, "inner"):
            virtual_clock.advance(10)
            await sleep(0)
            await sleep(0)
            trace.append("not reached")
        trace.append("not reached either")
    assert outer.expired
    assert trace == []


async def test_both_scopes_due_while_runnable_inner_first(virtual_clock):
    # the inner deadline comes first, but both are due in the same timer pass: the outer expiry
    # must not be dropped (the outer block must end, not run its 100 s sleep)
    trace = []
    with move_on_after(5) as outer:
        with move_on_after(1) as inner:
            virtual_clock.advance(10)
            await sleep(0)
            await sleep(0)
            trace.append("not reached")
        trace.append("between")
        await sleep(100)
        trace.append("not reached either")
    assert inner.expired and outer.expired
    assert "not reached either" not in trace
    assert virtual_clock.now() == 10


async def test_both_scopes_due_while_parked_outer_wins(virtual_clock):
    async def jump():
        await sleep(0)
        virtual_clock.advance(10)  # both deadlines pass in one timer pass while we are parked

    await spawn(jump())
    with move_on_after(5) as outer:
        with fail_after(1, "inner"):
            await sleep(100)
    assert outer.expired
    assert virtual_clock.now() == 10


async def test_pending_cancel_wins_over_a_later_expiry(virtual_clock):
    trace = []

    async def child():
        try:
            with move_on_after(1):
                virtual_clock.advance(5)
                me[0].cancel()  # cancel first (pending, at the next checkpoint)...
                await sleep(0)  # ...then the timer fires: the cancel must win
                trace.append("not reached")
            trace.append("moved on")
        except TaskCancelled:
            trace.append("cancelled")
            raise

    me = [current_event_loop().create_task(child())]
    with pytest.raises(TaskCancelled):
        await me[0].join()
    assert trace == ["cancelled"]
    assert me[0].is_cancelled


async def test_cancel_after_a_pending_expiry_is_not_lost(virtual_clock):
    trace = []
    expired = []

    async def canceller():
        while not expired:
            await sleep(0)
        # the child's expiry is due but not delivered yet (it is runnable): cancel it now
        assert handle.cancel()

    async def child():
        try:
            with move_on_after(1):
                virtual_clock.advance(5)
                expired.append(True)
                await sleep(0)
                await sleep(0)
                trace.append("not reached")
            trace.append("moved on")
            await sleep(100)
            trace.append("slept")
        except TaskCancelled:
            trace.append("cancelled")
            raise

    loop = current_event_loop()
    loop.create_task(canceller())  # runs before the child in every round
    handle = loop.create_task(child())
    with pytest.raises(TaskCancelled):
        await handle.join()
    assert "slept" not in trace
    assert trace[-1] == "cancelled"
    assert virtual_clock.now() == 5


async def test_pending_cancel_wins_over_an_expiry_while_parked(virtual_clock):
    trace = []

    async def child():
        try:
            with fail_after(1):
                await sleep(10)
        except TaskCancelled:
            trace.append("cancelled")
            raise
        except TimeoutError:
            trace.append("timeout")

    handle = await spawn(child())
    assert handle.cancel()  # the child is parked in sleep: TaskCancelled is queued for it
    virtual_clock.advance(5)  # the scope's timer is due at the same time
    await handle.cancel()
    assert trace == ["cancelled"]


def test_timeouts_need_a_task():
    with pytest.raises(RuntimeError, match="inside a flowno_core task"):
        with fail_after(1):
            pass  # pragma: no cover
    with pytest.raises(RuntimeError, match="inside a flowno_core task"):
        with move_on_after(1):
            pass  # pragma: no cover
