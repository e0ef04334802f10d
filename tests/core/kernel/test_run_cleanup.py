"""The end of a run and the second-cancel rule (D11, D13): every task alive when a run ends gets
one cancel and may clean up, awaiting in its `finally` blocks, while the loop keeps running (timers,
a virtual clock's jumps, sockets, worker threads); it is closed, a second interruption, only when
its clean-up can make no more progress (a stall) or takes longer than `cleanup_timeout`."""

from __future__ import annotations

import socket as stdsocket
import threading

import pytest

from flowno_core import (
    Event,
    EventLoop,
    Lock,
    Semaphore,
    SocketHandle,
    TaskCancelled,
    current_event_loop,
    exit,
    sleep,
    spawn,
    to_thread,
)
from flowno_core._kernel.cancellation import ShutdownCancel
from flowno_core._kernel.clock import VirtualClock
from flowno_core.lowlevel import current_task_object

pytestmark = pytest.mark.timeout(30)


class Boom(Exception):
    pass


def _ending(kind: str):
    """A root that spawns ``child`` and ends the run in one of the ways a run can end."""

    async def root(child):
        await spawn(child)
        await sleep(1)
        if kind == "stop with an exception":
            current_task_object().loop.stop(exception=Boom("stop"))
            await sleep(3600)
        elif kind == "exit":
            await exit("exit value")
        elif kind == "root error":
            raise Boom("root failed")
        return "root value"

    return root


ENDINGS = [
    ("stop with an exception", {"join": True}, Boom),
    ("exit", {"join": True}, None),
    ("root error", {"join": True, "wait_for_spawned_tasks": False}, Boom),
    ("root returns", {"join": True, "wait_for_spawned_tasks": False}, None),
]


def end_a_run_during(*cleanups, loop: EventLoop | None = None) -> EventLoop:
    """Start a waiting task per ``cleanup``, end the run with ``exit("done")``, and let each task
    run ``await cleanup()`` in its ``finally`` block."""

    async def child(cleanup):
        try:
            await sleep(3600)
        finally:
            await cleanup()

    async def main():
        for cleanup in cleanups:
            await spawn(child(cleanup))
        await sleep(1)
        await exit("done")

    loop = loop if loop is not None else EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True) == "done"
    return loop


def run_ending(loop: EventLoop, kind: str, kwargs: dict, error, child) -> None:
    if error is None:
        loop.run_until_complete(_ending(kind)(child), **kwargs)
    else:
        with pytest.raises(error):
            loop.run_until_complete(_ending(kind)(child), **kwargs)


@pytest.mark.parametrize(("kind", "kwargs", "error"), ENDINGS, ids=[e[0] for e in ENDINGS])
def test_a_cleanup_that_awaits_a_sleep_runs_to_its_end(kind, kwargs, error):
    log = []
    clock = VirtualClock()

    async def child():
        try:
            await sleep(3600)
        except TaskCancelled as cancel:
            log.append(type(cancel).__name__)
            raise
        finally:
            log.append("start")
            log.append(("slept", await sleep(600)))  # virtual time jumps during the clean-up too
            log.append("end")

    loop = EventLoop(clock=clock)
    run_ending(loop, kind, kwargs, error, child())
    assert log == ["ShutdownCancel", "start", ("slept", 600.0), "end"]
    assert clock.now() >= 601
    assert not loop.has_living_tasks()


def test_the_reproduction_from_the_issue_prints_start_and_end():
    log = []

    async def child():
        try:
            await sleep(10)
        finally:
            log.append("start")
            await sleep(0.01)
            log.append("end")

    async def main():
        await spawn(child())
        await sleep(0.001)
        current_task_object().loop.stop(exception=RuntimeError("x"))
        await sleep(1)

    with pytest.raises(RuntimeError, match="x"):
        EventLoop().run_until_complete(main(), join=True)
    assert log == ["start", "end"]


def test_a_cleanup_that_awaits_a_socket_receives_the_data_sent_during_the_cleanup():
    log = []
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)

    async def read():
        log.append(("read", await left.recv(100)))  # nothing is there yet: it waits on the socket
        left.close()

    async def write():
        await sleep(5)  # so the reader is already parked on the socket
        await right.sendAll(b"goodbye")
        right.close()
        log.append("sent")

    end_a_run_during(read, write, loop=EventLoop(clock=VirtualClock(io_grace=0.0)))
    assert log == ["sent", ("read", b"goodbye")]


def test_a_cleanup_that_awaits_a_worker_thread_gets_its_result():
    log = []
    release = threading.Event()

    def blocking():
        release.wait(30)
        return "from the thread"

    async def child():
        try:
            await sleep(3600)
        finally:
            log.append("waiting")
            log.append(await to_thread(blocking))

    async def releaser():
        try:
            await sleep(3600)
        finally:
            await sleep(1)  # after the child's thread call has started
            release.set()

    async def main():
        await spawn(child())
        await spawn(releaser())
        await sleep(1)
        current_event_loop().stop(exception=Boom())

    with pytest.raises(Boom):
        EventLoop(clock=VirtualClock()).run_until_complete(main(), join=True)
    assert log == ["waiting", "from the thread"]


@pytest.mark.parametrize("cleanup_timeout", [None, 5.0])
def test_a_cleanup_that_waits_forever_is_closed_once_the_loop_stalls(cleanup_timeout):
    log = []
    never = Event()

    async def wait_forever():
        log.append("start")
        try:
            await never.wait()  # nothing can ever set it
        except GeneratorExit:
            log.append("closed")
            raise
        log.append("end")

    loop = EventLoop(clock=VirtualClock())
    loop.cleanup_timeout = cleanup_timeout  # None: the stall alone ends the clean-up
    end_a_run_during(wait_forever, loop=loop)
    assert log == ["start", "closed"]
    assert not loop.has_living_tasks()


def test_with_cleanup_timeout_zero_a_cleanup_runs_only_until_it_first_waits():
    log = []

    async def cleanup():
        log.append("start")
        await sleep(1)
        log.append("end")

    loop = EventLoop(clock=VirtualClock())
    loop.cleanup_timeout = 0
    end_a_run_during(cleanup, loop=loop)
    assert log == ["start"]


def test_a_task_started_during_the_cleanup_is_cancelled_before_its_first_step():
    log = []

    async def helper():
        log.append("helper ran")

    async def cleanup():
        handle = await spawn(helper())
        try:
            await handle.join()
        except ShutdownCancel:
            log.append("helper was cancelled")

    end_a_run_during(cleanup)
    assert log == ["helper was cancelled"]


def test_stop_and_exit_during_the_cleanup_do_not_change_how_the_run_ended():
    log = []

    async def cleanup():
        current_event_loop().stop("late stop")
        await sleep(1)
        log.append("still cleaning up")
        await exit("late exit")

    end_a_run_during(cleanup)  # still returns "done"
    assert log == ["still cleaning up"]


@pytest.mark.parametrize("primitive", ["lock", "semaphore"])
def test_a_task_handed_a_lock_as_the_run_ends_passes_it_on_to_a_cleanup_that_needs_it(primitive):
    log = []
    lock = Lock() if primitive == "lock" else Semaphore(1)

    async def waiter():
        async with lock:  # handed the lock as the run ends: cancelled before it runs again
            log.append("waiter got the lock")

    async def holder():
        await lock.acquire()
        await spawn(waiter())
        await sleep(1)  # the waiter is parked on the lock
        try:
            current_event_loop().stop("done")
            await lock.release()  # hands the lock to the waiter, then the run ends
            await sleep(0)  # (a Semaphore's release does not yield by itself)
        finally:
            async with lock:
                log.append("holder cleaned up with the lock")

    assert EventLoop(clock=VirtualClock()).run_until_complete(holder(), join=True) == "done"
    assert log == ["holder cleaned up with the lock"]


# ---------------------------------------------------------------------------------------- D11


async def test_a_task_is_cancelled_at_most_once():
    log = []

    async def stubborn():
        try:
            await sleep(10)
        except TaskCancelled:
            log.append("cancelled")
        log.append(("slept", await sleep(5)))  # a second cancel does not interrupt this
        return "done"

    handle = await spawn(stubborn())
    await sleep(1)
    assert handle.cancel()
    await sleep(1)
    assert log == ["cancelled"]
    assert handle.cancel()  # truthy: the task has not ended; nothing more is thrown
    assert await handle.join() == "done"
    assert log == ["cancelled", ("slept", 5.0)]
    assert not handle.cancel()  # ended


def test_a_task_cancelled_before_the_run_ended_gets_no_second_cancel_at_the_end():
    log = []

    async def stubborn():
        try:
            await sleep(10)
        except TaskCancelled as cancel:
            log.append(type(cancel).__name__)
        log.append(("slept", await sleep(5)))

    async def main():
        handle = await spawn(stubborn())
        await sleep(1)
        handle.cancel()
        await sleep(0)
        await exit("done")

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True) == "done"
    assert log == ["TaskCancelled", ("slept", 5.0)]


def test_a_cancel_still_waiting_for_its_checkpoint_is_delivered_when_the_run_ends():
    log = []

    async def child(ready: Event):
        try:
            await ready.wait()
            log.append("ran on")  # must not run: the run ended while its cancel was on its way
        except TaskCancelled as cancel:
            log.append(type(cancel).__name__)

    async def main():
        ready = Event()
        handle = await spawn(child(ready))
        await sleep(0)
        ready.set_nowait()  # runnable now
        handle.cancel()  # lands at its next checkpoint
        await exit("done")

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True) == "done"
    assert log == ["TaskCancelled"]
