"""Threads: to_thread, create_task from another thread (waking a loop blocked in select), two
loops running at once in two threads, per-thread current loop, no worker thread outliving a run,
and a run that ends (on an error, a stop, its root) without waiting for a worker still blocked in
a call."""

from __future__ import annotations

import contextvars
import gc
import queue
import threading

import pytest

from flowno_core import (
    Event,
    EventLoop,
    current_event_loop,
    current_task,
    sleep,
    spawn,
    to_thread,
)
from flowno_core._kernel.clock import VirtualClock

pytestmark = pytest.mark.timeout(30)

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("thread_test_var", default="unset")


async def test_to_thread_returns_the_result_and_runs_off_the_loop_thread(real_clock):
    loop_thread = threading.get_ident()

    def work(a, b, *, c):
        return a + b + c, threading.get_ident()

    value, worker_thread = await to_thread(work, 1, 2, c=3)
    assert value == 6
    assert worker_thread != loop_thread


async def test_to_thread_reraises_the_functions_exception(real_clock):
    def fail():
        raise KeyError("from the worker")

    with pytest.raises(KeyError, match="from the worker"):
        await to_thread(fail)


async def test_to_thread_runs_in_a_copy_of_the_tasks_context(real_clock):
    VAR.set("task value")

    def read_and_change():
        seen = VAR.get()
        VAR.set("changed in worker")
        return seen

    assert await to_thread(read_and_change) == "task value"
    assert VAR.get() == "task value"


async def test_the_loop_keeps_running_tasks_while_a_thread_blocks(real_clock):
    unblock = threading.Event()
    trace = []

    def blocking():
        unblock.wait(20)
        trace.append("worker done")
        return unblock.is_set()

    async def other_task():
        trace.append("other task ran")
        unblock.set()  # only possible if the loop is not blocked by the worker

    worker = await spawn(to_thread(blocking))
    await spawn(other_task())
    assert await worker.join() is True
    assert trace == ["other task ran", "worker done"]


async def test_many_concurrent_to_thread_calls(real_clock):
    handles = [await spawn(to_thread(pow, i, 2)) for i in range(20)]
    assert [await h.join() for h in handles] == [i * i for i in range(20)]


def test_to_thread_outside_a_task_is_a_clear_error():
    coro = to_thread(print)
    with pytest.raises(RuntimeError, match="must be awaited inside a flowno_core task"):
        contextvars.Context().run(coro.send, None)
    coro.close()


async def test_create_task_from_another_thread_wakes_a_loop_blocked_in_select(real_clock):
    loop = current_event_loop()
    done = Event()
    trace = []

    async def from_thread():
        trace.append(("ran on loop thread", threading.get_ident() == loop_thread))
        await done.set()

    def other_thread():
        trace.append("thread started")
        handle = loop.create_task(from_thread())
        trace.append(("handle", handle.event_loop is loop))

    loop_thread = threading.get_ident()
    thread = threading.Thread(target=other_thread)
    thread.start()
    # nothing else can wake the loop: no timer, no socket, no worker; it blocks in select until
    # the other thread's create_task writes to the wake-up socket
    await done.wait()
    thread.join()
    assert trace[0] == "thread started"
    assert sorted(trace[1:]) == [("handle", True), ("ran on loop thread", True)]


async def test_call_soon_threadsafe_runs_on_the_loop_thread(real_clock):
    loop = current_event_loop()
    done = Event()
    seen = []

    def callback():
        seen.append(threading.get_ident())
        done.set_nowait()

    threading.Thread(target=loop.call_soon_threadsafe, args=(callback,)).start()
    await done.wait()
    assert seen == [threading.get_ident()]


def test_two_loops_run_at_once_in_two_threads():
    barrier = threading.Barrier(2, timeout=20)
    results = {}
    errors = []

    def thread_main(name):
        loop = EventLoop()

        async def child():
            await sleep(0)
            return current_event_loop()

        async def main():
            assert current_event_loop() is loop
            # both loops must be running at the same time to get past the barrier
            await to_thread(barrier.wait)
            handle = await spawn(child())
            child_loop = await handle.join()
            return name, current_event_loop() is loop, child_loop is loop, current_task() is not None

        try:
            results[name] = loop.run_until_complete(main(), join=True)
            results[name + "-after"] = current_event_loop()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=thread_main, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {
        "a": ("a", True, True, True),
        "b": ("b", True, True, True),
        "a-after": None,
        "b-after": None,
    }


def test_current_event_loop_is_per_thread():
    seen = {}
    started = threading.Event()
    release = threading.Event()

    async def main():
        started.set()
        await to_thread(release.wait, 20)

    loop = EventLoop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    assert started.wait(20)
    seen["main thread, other thread running a loop"] = current_event_loop()
    assert loop.is_running()
    release.set()
    thread.join()
    assert seen == {"main thread, other thread running a loop": None}
    assert not loop.is_running()


def test_a_loop_cannot_run_in_two_threads_at_once():
    started = threading.Event()
    release = threading.Event()
    loop = EventLoop()

    async def main():
        started.set()
        await to_thread(release.wait, 20)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    try:
        assert started.wait(20)

        async def second():
            return "never"

        with pytest.raises(RuntimeError, match="already running in another thread"):
            loop.run_until_complete(second())
    finally:
        release.set()
        thread.join()


async def test_a_new_loop_can_run_inside_a_worker_thread(real_clock):
    def nested():
        async def inner():
            await sleep(1)
            return current_event_loop()

        inner_loop = EventLoop(clock=VirtualClock())
        return inner_loop.run_until_complete(inner(), join=True) is inner_loop

    assert await to_thread(nested) is True
    assert current_event_loop() is not None


def test_no_worker_thread_outlives_a_run():
    before = set(threading.enumerate())

    async def main():
        handles = [await spawn(to_thread(sum, range(i))) for i in range(10)]
        return [await h.join() for h in handles]

    loop = EventLoop()
    for _ in range(3):
        assert loop.run_until_complete(main(), join=True) == [sum(range(i)) for i in range(10)]
        assert set(threading.enumerate()) == before


def test_create_task_from_another_thread_before_the_run_starts():
    loop = EventLoop(clock=VirtualClock())
    trace = []

    async def queued():
        trace.append("queued task ran")

    thread = threading.Thread(target=loop.create_task, args=(queued(),))
    thread.start()
    thread.join()

    async def main():
        await sleep(1)

    loop.run_until_complete(main())
    assert trace == ["queued task ran"]


def test_a_task_queued_from_another_thread_as_the_run_stops_is_closed_not_leaked():
    handles = []
    ran = []

    async def late():
        ran.append(True)

    async def main():
        loop = current_event_loop()
        thread = threading.Thread(target=lambda: handles.append(loop.create_task(late())))
        thread.start()
        thread.join()  # queued from the other thread; the root ends before the loop picks it up
        return "root"

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True, wait_for_spawned_tasks=False) == "root"
    assert ran == []
    assert handles[0].is_cancelled  # not left pending forever (and its coroutine was closed)
    assert not loop.has_living_tasks()
    gc.collect()  # no "coroutine was never awaited"


# ---------------------------------------------------------------------------------------- a run does not wait for busy workers


class Boom(Exception):
    pass


def _blocked_worker_cases():
    """(how the run ends, the run_until_complete kwargs, the exception it raises or None)."""

    async def error(loop):
        raise Boom("root failed")

    async def stop_with_exception(loop):
        loop.stop(exception=Boom("stopped"))
        await Event().wait()

    async def stop_with_value(loop):
        loop.stop("stopped")
        await Event().wait()

    async def root_returns(loop):
        return "root"

    async def callback_error(loop):
        def explode():
            raise Boom("callback failed")

        loop.call_later(0, explode)
        await Event().wait()

    return [
        ("root error", error, {"join": True, "wait_for_spawned_tasks": False}, Boom),
        ("callback error", callback_error, {"join": True}, Boom),
        ("stop with an exception", stop_with_exception, {"join": True}, Boom),
        ("stop with a value", stop_with_value, {"join": True}, None),
        ("root returns", root_returns, {"join": True, "wait_for_spawned_tasks": False}, None),
    ]


def _blocking_calls():
    """Blocking calls a worker can be stuck in, each released by ``release()`` from the test (the
    10 s are a safety net, never a timing assertion: a run that waited for the worker would
    return only after it, and fail the test)."""
    event = threading.Event()
    jobs: queue.Queue[str] = queue.Queue()
    return [
        ("threading.Event.wait", lambda: event.wait(10), event.set),
        ("queue.get", lambda: jobs.get(timeout=10), lambda: jobs.put("job")),
    ]


@pytest.mark.parametrize("call", range(2), ids=["event wait", "queue get"])
@pytest.mark.parametrize(
    ("ending", "body", "kwargs", "error"), _blocked_worker_cases(), ids=[c[0] for c in _blocked_worker_cases()]
)
def test_a_run_ends_without_waiting_for_a_worker_blocked_in_a_call(call, ending, body, kwargs, error):
    _, blocking, release = _blocking_calls()[call]
    started = threading.Event()
    finished = threading.Event()
    handles = []

    def worker():
        started.set()
        result = blocking()
        finished.set()
        return result

    async def waiter():
        return await to_thread(worker)

    async def main():
        loop = current_event_loop()
        handles.append(await spawn(waiter()))
        await to_thread(started.wait, 30)  # the worker is now inside its blocking call
        return await body(loop)

    loop = EventLoop()
    if error is None:
        loop.run_until_complete(main(), **kwargs)
    else:
        with pytest.raises(error):
            loop.run_until_complete(main(), **kwargs)
    # run_until_complete returned while the worker was still blocked (before this release)
    assert not finished.is_set()
    assert handles[0].is_cancelled  # its waiter was cancelled; the worker's result is dropped
    release()
    assert finished.wait(30)
    assert loop.run_until_complete(to_thread(lambda: "next run"), join=True) == "next run"
