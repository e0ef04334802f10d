"""Re-running loops and clean-up (D5, D13): a loop runs many times; after every kind of ending no
task is alive, every task's `finally` ran, and no file descriptor or thread is left behind; the
selector and the wake-up socketpair are closed at the end of each run; an idle or dropped loop
holds no file descriptors."""

from __future__ import annotations

import gc
import socket as stdsocket
import threading

import pytest

from flowno_core import (
    AsyncQueue,
    Event,
    EventLoop,
    Lock,
    SocketHandle,
    TaskCancelled,
    current_event_loop,
    exit,
    sleep,
    spawn,
    to_thread,
)
from flowno_core._kernel.clock import VirtualClock

from flowno_core.testing.sockets import open_fds

pytestmark = pytest.mark.timeout(60)


async def busy_workload(i: int) -> int:
    """Timers, a socket pair, a worker thread, a queue and a lock, all in one run."""
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    queue: AsyncQueue[int] = AsyncQueue(maxsize=2)
    lock = Lock()

    async def producer():
        for n in range(5):
            async with lock:
                await queue.put(n)
        await queue.close()

    async def echo():
        data = await right.recv(100)
        await right.sendAll(data)

    await spawn(producer())
    await spawn(echo())
    await left.sendAll(str(i).encode())
    reply = int(await left.recv(100))
    total = sum([n async for n in queue])
    total += await to_thread(abs, -i)
    await sleep(0)
    left.close()
    right.close()
    return reply + total


def test_a_loop_runs_many_times_without_leaking_fds_threads_or_tasks():
    loop = EventLoop()
    fds = open_fds()
    threads = set(threading.enumerate())
    for i in range(60):
        assert loop.run_until_complete(busy_workload(i), join=True) == 2 * i + 10
        assert not loop.has_living_tasks()
        assert loop.living_tasks() == []
        assert not loop.is_running()
    assert open_fds() == fds
    assert set(threading.enumerate()) == threads


def test_the_selector_and_the_wakeup_socketpair_are_closed_after_each_run():
    loop = EventLoop(clock=VirtualClock())
    seen = []

    async def main():
        mux = current_event_loop()._mux
        seen.append(mux)
        assert mux.wake_r.fileno() >= 0 and mux.wake_w.fileno() >= 0
        await sleep(1)

    for _ in range(3):
        loop.run_until_complete(main(), join=True)
        mux = seen[-1]
        assert mux.wake_r.fileno() == -1 and mux.wake_w.fileno() == -1
        assert mux.selector.get_map() is None  # closed
        assert loop._mux is None
    assert len({id(m) for m in seen}) == 3  # one per run, never shared


def test_idle_and_dropped_loops_hold_no_fds():
    fds = open_fds()
    loops = [EventLoop() for _ in range(50)]
    assert open_fds() == fds  # creating loops opens nothing

    async def main():
        await sleep(0)

    for loop in loops:
        loop.run_until_complete(main())
    assert open_fds() == fds
    del loops, loop
    gc.collect()
    assert open_fds() == fds


def test_loops_in_several_threads_leave_nothing_behind():
    fds = open_fds()
    threads = set(threading.enumerate())
    results = []

    def worker(i):
        results.append(EventLoop().run_until_complete(busy_workload(i), join=True))

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert sorted(results) == [2 * i + 10 for i in range(4)]
    assert open_fds() == fds
    assert set(threading.enumerate()) == threads


# ---------------------------------------------------------------------------------------- endings


def _spawn_lingerers(trace: list, handles: list):
    async def sleeper():
        try:
            await sleep(3600)
        finally:
            trace.append("sleeper finally")

    async def waiter():
        try:
            await Event().wait()
        finally:
            trace.append("waiter finally")

    async def spawn_all():
        left, right = stdsocket.socketpair()
        handles.append(await spawn(sleeper()))
        handles.append(await spawn(waiter()))
        handles.append(await spawn(_reader(SocketHandle(left), SocketHandle(right), trace)))

    return spawn_all()


async def _reader(sock: SocketHandle, peer: SocketHandle, trace: list):
    try:
        await sock.recv(10)  # parked on the socket: nothing is ever sent
    finally:
        trace.append("reader finally")
        sock.close()
        peer.close()


def _endings():
    class Boom(Exception):
        pass

    async def by_exit():
        await sleep(1)
        await exit("exit value")

    async def by_error():
        await sleep(1)
        raise Boom("root failed")

    async def by_root_returning():
        await sleep(1)
        return "root value"

    async def by_system_exit_in_a_child():
        async def child():
            await sleep(1)
            raise SystemExit(3)

        await spawn(child())
        await sleep(10)

    async def by_callback_error():
        def explode():
            raise Boom("callback failed")

        current_event_loop().call_later(1, explode)
        await sleep(10)

    return [
        ("exit", by_exit, {"join": True}, "exit value", None),
        ("root error", by_error, {"join": True, "wait_for_spawned_tasks": False}, None, Boom),
        ("no wait for spawned", by_root_returning, {"join": True, "wait_for_spawned_tasks": False}, "root value", None),
        ("SystemExit in a child", by_system_exit_in_a_child, {"join": True}, None, SystemExit),
        ("callback error", by_callback_error, {"join": True}, None, Boom),
    ]


@pytest.mark.parametrize(("name", "root", "kwargs", "value", "error"), _endings(), ids=[e[0] for e in _endings()])
def test_every_ending_cancels_and_closes_the_remaining_tasks(name, root, kwargs, value, error):
    trace: list = []
    handles: list = []
    fds = open_fds()

    async def main():
        await _spawn_lingerers(trace, handles)
        return await root()

    loop = EventLoop(clock=VirtualClock(io_grace=0.0))
    for _ in range(2):  # and the loop is reusable afterwards
        trace.clear()
        handles.clear()
        if error is None:
            assert loop.run_until_complete(main(), **kwargs) == value
        else:
            with pytest.raises(error):
                loop.run_until_complete(main(), **kwargs)
        assert sorted(trace) == ["reader finally", "sleeper finally", "waiter finally"]
        assert all(handle.is_cancelled for handle in handles)
        assert not loop.has_living_tasks()
        assert not loop.is_running()
        assert current_event_loop() is None
    assert open_fds() == fds


def test_a_task_that_catches_its_cancel_and_keeps_running_is_closed_after_the_cleanup_timeout():
    trace = []
    handles = []

    async def stubborn():
        try:
            while True:
                try:
                    await sleep(1)
                except TaskCancelled:
                    trace.append("ignored a cancel")
        finally:
            trace.append("finally")

    async def main():
        handles.append(await spawn(stubborn()))
        await sleep(0)

    loop = EventLoop(clock=VirtualClock())
    loop.cleanup_timeout = 0.05  # it never stalls (virtual time keeps jumping): only the bound ends it
    loop.run_until_complete(main(), join=True, wait_for_spawned_tasks=False)
    assert trace[-1] == "finally"
    assert trace.count("ignored a cancel") == 1  # one cancel, then it was closed
    assert handles[0].is_cancelled


def test_async_cleanup_in_finally_runs_during_shutdown():
    trace = []

    async def child():
        try:
            await sleep(3600)
        finally:
            await sleep(0)  # clean-up that yields: allowed, it runs before the run returns
            trace.append("async cleanup done")

    async def main():
        await spawn(child())
        await sleep(1)

    EventLoop(clock=VirtualClock()).run_until_complete(main(), wait_for_spawned_tasks=False)
    assert trace == ["async cleanup done"]


def test_a_task_that_yields_in_finally_while_being_closed_does_not_break_the_shutdown():
    trace = []

    async def stubborn():
        while True:
            try:
                await sleep(1)
            except TaskCancelled:
                trace.append("ignored")
            except GeneratorExit:
                trace.append("closing")
                await sleep(0)  # not allowed while closing: Python reports it, the loop goes on
                raise

    async def main():
        await spawn(stubborn())
        await sleep(0)
        return "done"

    loop = EventLoop(clock=VirtualClock())
    loop.cleanup_timeout = 0.05
    assert loop.run_until_complete(main(), join=True, wait_for_spawned_tasks=False) == "done"
    assert trace.count("ignored") == 1
    assert "closing" in trace
    assert not loop.has_living_tasks()
    gc.collect()  # the coroutine was closed once; collecting it must not report anything
    assert trace.count("closing") == 1
