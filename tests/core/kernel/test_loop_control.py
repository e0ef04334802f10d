"""Loop-level controls used by the layers above the kernel: EventLoop.stop() and stall handlers
(called when nothing can run and nothing inside the loop can wake a task)."""

from __future__ import annotations

import threading

import pytest

from flowno_core import Event, EventLoop, TaskCancelled, current_event_loop, sleep, spawn, to_thread
from flowno_core._kernel.clock import VirtualClock

pytestmark = pytest.mark.timeout(30)


def new_loop() -> EventLoop:
    return EventLoop(clock=VirtualClock())


# ---------------------------------------------------------------------------------------- stop


def test_stop_from_a_task_returns_the_value_and_cancels_the_rest():
    trace = []

    async def child():
        try:
            await sleep(100)
        except TaskCancelled:
            trace.append("child cancelled")
            raise

    async def main():
        await spawn(child())
        await sleep(1)
        current_event_loop().stop("stopped")
        trace.append("rest of the step still runs")
        await sleep(10)  # parks: the shutdown's cancel lands here
        trace.append("not reached")

    loop = new_loop()
    assert loop.run_until_complete(main(), join=True) == "stopped"
    assert trace == ["rest of the step still runs", "child cancelled"]
    assert not loop.has_living_tasks()
    assert loop.run_until_complete(main(), join=False) is None


def test_stop_from_a_callback_with_an_exception_raises_it():
    async def main():
        loop = current_event_loop()
        loop.call_later(2, loop.stop, None, LookupError("from callback"))
        await Event().wait()

    with pytest.raises(LookupError, match="from callback"):
        new_loop().run_until_complete(main())


def test_the_first_stop_wins():
    async def main():
        loop = current_event_loop()
        loop.stop("first")
        loop.stop("second", ValueError("ignored"))
        await sleep(0)

    assert new_loop().run_until_complete(main(), join=True) == "first"


# ---------------------------------------------------------------------------------------- stall handlers


def test_a_stall_handler_runs_when_nothing_can_run_and_can_schedule_work():
    event = Event()
    calls = []

    def on_stall():
        calls.append(event.is_set())
        event.set_nowait()

    async def main():
        await sleep(5)  # a pending timer is not a stall
        assert calls == []
        await event.wait()  # now nothing can wake us but the handler
        return "woken by the handler"

    loop = new_loop()
    loop.add_stall_handler(on_stall)
    assert loop.run_until_complete(main(), join=True) == "woken by the handler"
    assert calls == [False]


def test_a_stall_handler_can_stop_the_loop():
    def on_stall():
        loop.stop(exception=RuntimeError("deadlock: everybody waits"))

    async def main():
        await Event().wait()

    loop = new_loop()
    loop.add_stall_handler(on_stall)
    with pytest.raises(RuntimeError, match="deadlock"):
        loop.run_until_complete(main())
    assert not loop.has_living_tasks()


def test_a_stall_handler_returning_a_delay_is_asked_again():
    calls = []

    def on_stall():
        calls.append(len(calls))
        if len(calls) == 3:
            loop.stop("asked three times")
            return None
        return 0.0  # ask me again (at once) if still stalled

    async def main():
        await Event().wait()

    loop = new_loop()
    loop.add_stall_handler(on_stall)
    assert loop.run_until_complete(main(), join=True) == "asked three times"
    assert calls == [0, 1, 2]


def test_no_stall_while_a_worker_thread_can_still_wake_a_task():
    calls = []
    release = threading.Event()

    def on_stall():
        calls.append("stall")
        loop.stop("stalled")

    async def main():
        loop.call_later(0, release.set)  # let the worker finish once the loop is idle
        assert await to_thread(release.wait, 20) is True
        assert calls == []  # the thread in flight was not a stall
        await Event().wait()

    loop = EventLoop()
    loop.add_stall_handler(on_stall)
    assert loop.run_until_complete(main(), join=True) == "stalled"
    assert calls == ["stall"]


def test_remove_stall_handler():
    calls = []

    def on_stall():
        calls.append("removed handler called")

    def stopper():
        loop.stop("stopped")

    async def main():
        await Event().wait()

    loop = new_loop()
    loop.add_stall_handler(on_stall)
    loop.remove_stall_handler(on_stall)
    loop.remove_stall_handler(on_stall)  # removing twice is harmless
    loop.add_stall_handler(stopper)
    assert loop.run_until_complete(main(), join=True) == "stopped"
    assert calls == []
