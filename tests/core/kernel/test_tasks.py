"""Tasks: spawn, join, handles, cancel (incl. the awaitable cancel of D11), exit, the
run_until_complete contract (join / wait_for_spawned_tasks), bad inputs, current_task and
current_event_loop, and per-task ContextVars."""

from __future__ import annotations

import asyncio
import contextvars
import types

import pytest

from flowno_core import (
    EventLoop,
    TaskCancelled,
    TaskHandle,
    current_event_loop,
    current_task,
    exit,
    sleep,
    spawn,
)
from flowno_core._kernel.clock import VirtualClock
from flowno_core.errors import UnknownCommandError

from .helpers import run

# ---------------------------------------------------------------------------------------- spawn


async def test_spawned_child_runs_before_the_spawner_resumes():
    order = []

    async def child():
        order.append("child")

    order.append("before")
    handle = await spawn(child())
    order.append("after")
    assert isinstance(handle, TaskHandle)
    assert order == ["before", "child", "after"]


async def test_steps_interleave_fairly_in_fifo_order():
    order = []

    async def worker(name):
        for i in range(3):
            order.append((name, i))
            await sleep(0)

    loop = current_event_loop()
    for name in "abc":
        loop.create_task(worker(name))  # queued behind each other, none started yet
    for _ in range(4):
        await sleep(0)
    # each task runs one step per round, in the order they became runnable
    assert order == [
        ("a", 0), ("b", 0), ("c", 0),
        ("a", 1), ("b", 1), ("c", 1),
        ("a", 2), ("b", 2), ("c", 2),
    ]  # fmt: skip


async def test_generator_based_coroutines_are_tasks_too():
    @types.coroutine
    def legacy():
        yield from sleep(1)
        return "legacy"

    handle = await spawn(legacy())
    assert await handle.join() == "legacy"


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        (42, "pass the object returned by calling an async function"),
        (None, "pass the object returned by calling an async function"),
        ("child", "pass the object returned by calling an async function"),
    ],
)
async def test_spawning_a_non_coroutine_raises_type_error_in_the_spawner(bad, hint):
    with pytest.raises(TypeError) as info:
        await spawn(bad)
    assert "spawn() needs a coroutine object" in str(info.value)
    assert hint in str(info.value)


async def test_spawning_an_uncalled_async_function_hints_to_call_it():
    async def worker():
        return 1

    with pytest.raises(TypeError, match=r"call it first: spawn\(worker\(\.\.\.\)\)"):
        await spawn(worker)


async def test_spawning_an_awaitable_that_is_not_a_coroutine_hints_to_wrap_it():
    class Awaitable:
        def __await__(self):
            return (yield from sleep(0))

    with pytest.raises(TypeError, match="wrap the awaitable in an async function"):
        await spawn(Awaitable())


async def test_the_spawner_keeps_running_after_a_bad_spawn():
    with pytest.raises(TypeError):
        await spawn(object())
    handle = await spawn(sleep(1))
    assert await handle.join() == 1.0


def test_create_task_and_run_until_complete_reject_non_coroutines():
    loop = EventLoop()
    with pytest.raises(TypeError, match="create_task\\(\\) needs a coroutine object"):
        loop.create_task(lambda: None)
    with pytest.raises(TypeError, match="run_until_complete\\(\\) needs a coroutine object"):
        loop.run_until_complete(123)
    # the loop is still usable
    assert loop.run_until_complete(sleep(0), join=True) == 0.0


# ---------------------------------------------------------------------------------------- join


async def test_join_returns_the_value():
    async def child():
        await sleep(5)
        return "value"

    handle = await spawn(child())
    assert not handle.done
    assert await handle.join() == "value"
    assert handle.is_finished and handle.done
    assert not handle.is_error and not handle.is_cancelled
    # joining again gives the value again, without waiting
    assert await handle.join() == "value"


async def test_join_reraises_the_task_exception():
    async def child():
        await sleep(1)
        raise ValueError("boom")

    handle = await spawn(child())
    with pytest.raises(ValueError, match="boom"):
        await handle.join()
    assert handle.is_error and handle.done
    assert not handle.is_finished and not handle.is_cancelled
    with pytest.raises(ValueError, match="boom"):
        await handle.join()


async def test_join_on_a_cancelled_task_raises_task_cancelled():
    async def child():
        await sleep(10)

    handle = await spawn(child())
    assert handle.cancel()
    with pytest.raises(TaskCancelled) as info:
        await handle.join()
    assert info.value.by is handle
    assert str(info.value) == "Task was cancelled"
    assert handle.is_cancelled and not handle.is_error and not handle.is_finished


async def test_many_joiners_all_get_the_result():
    async def child():
        await sleep(1)
        return 7

    handle = await spawn(child())

    async def joiner():
        return await handle.join()

    joiners = [await spawn(joiner()) for _ in range(5)]
    assert [await j.join() for j in joiners] == [7] * 5


async def test_a_task_joining_itself_gets_a_clear_error():
    me = []

    async def child():
        await sleep(0)
        await me[0].join()

    me.append(await spawn(child()))
    with pytest.raises(RuntimeError, match="cannot join itself"):
        await me[0].join()


async def test_handle_exposes_raw_task_and_event_loop():
    async def child():
        return current_task()

    coro = child()
    handle = await spawn(coro)
    assert handle.raw_task is coro
    assert handle.event_loop is current_event_loop()
    assert await handle.join() is coro


# ---------------------------------------------------------------------------------------- cancel


async def test_cancel_throws_task_cancelled_where_the_task_waits():
    seen = []

    async def child():
        try:
            await sleep(100)
        except TaskCancelled as error:
            seen.append(error)
            raise

    handle = await spawn(child())
    await sleep(1)
    request = handle.cancel()
    assert request
    assert await request is None
    assert len(seen) == 1 and isinstance(seen[0], TaskCancelled)
    assert handle.is_cancelled


async def test_await_cancel_waits_until_the_task_has_finished_its_cleanup(virtual_clock):
    steps = []

    async def child():
        try:
            await sleep(100)
        finally:
            steps.append("cleanup-start")
            await sleep(3)
            steps.append("cleanup-end")

    handle = await spawn(child())
    await sleep(1)
    start = virtual_clock.now()
    assert await handle.cancel() is None
    assert steps == ["cleanup-start", "cleanup-end"]
    assert virtual_clock.now() - start == 3
    assert handle.is_cancelled


async def test_await_cancel_gives_the_return_value_when_the_task_swallows_the_cancel():
    async def child():
        try:
            await sleep(100)
        except TaskCancelled:
            return "caught"

    handle = await spawn(child())
    await sleep(0)
    request = handle.cancel()
    assert bool(request) is True
    assert await request == "caught"
    assert handle.is_finished


async def test_await_cancel_never_raises_when_another_exception_ends_the_task():
    async def child():
        try:
            await sleep(100)
        except TaskCancelled:
            raise KeyError("cleanup failed") from None

    handle = await spawn(child())
    await sleep(0)
    assert await handle.cancel() is None
    assert handle.is_error
    with pytest.raises(KeyError):
        await handle.join()


async def test_cancel_of_a_finished_task_is_falsy_and_awaiting_gives_its_value():
    async def child():
        return 5

    handle = await spawn(child())
    await sleep(0)
    assert handle.is_finished
    request = handle.cancel()
    assert not request
    assert await request == 5
    assert handle.is_finished and not handle.is_cancelled


async def test_cancel_of_a_failed_task_is_falsy_and_awaiting_gives_none():
    async def child():
        raise ValueError("x")

    handle = await spawn(child())
    await sleep(0)
    request = handle.cancel()
    assert not request
    assert await request is None
    assert handle.is_error


async def test_cancel_of_a_runnable_task_lands_at_its_next_checkpoint():
    trace = []

    async def child():
        trace.append("start")
        await sleep(0)
        trace.append("resumed")  # the step in flight still runs...
        try:
            await sleep(0)  # ...and the cancel lands here
        except TaskCancelled:
            trace.append("cancelled")
            raise

    handle = await spawn(child())  # child ran up to its first sleep(0) and is runnable
    assert handle.cancel()
    await handle.cancel()
    assert trace == ["start", "resumed", "cancelled"]
    assert handle.is_cancelled


async def test_cancel_before_a_task_started_never_runs_its_body():
    ran = []

    async def child():
        ran.append(True)

    loop = current_event_loop()
    handle = loop.create_task(child())  # queued, not started yet
    assert handle.cancel()
    assert await handle.cancel() is None
    assert ran == []
    assert handle.is_cancelled


async def test_a_task_returning_before_its_next_checkpoint_keeps_its_value():
    async def child():
        await sleep(0)
        return "done"

    handle = await spawn(child())
    assert handle.cancel()  # delivered: the task had not ended
    assert await handle.cancel() == "done"
    assert handle.is_finished


async def test_two_cancels_throw_once(virtual_clock):
    throws = []

    async def child():
        while True:
            try:
                await sleep(10)
                return "slept in peace"
            except TaskCancelled:
                throws.append(virtual_clock.now())

    handle = await spawn(child())
    await sleep(1)
    assert handle.cancel()
    assert handle.cancel()  # still pending: truthy, but no second throw
    assert await handle.join() == "slept in peace"
    assert throws == [1.0]


async def test_cancelled_in_sleep_then_sleeping_again_does_not_wake_early(virtual_clock):
    # SPEC 5.5 flowno bug 1: the old timer entry must not wake the task.
    woke = []

    async def child():
        try:
            await sleep(2)
        except TaskCancelled:
            pass
        started = virtual_clock.now()
        elapsed = await sleep(10)
        woke.append((started, virtual_clock.now(), elapsed))

    handle = await spawn(child())
    await sleep(1)
    handle.cancel()
    await handle.join()
    assert woke == [(1.0, 11.0, 10.0)]


async def test_no_stale_send_after_a_cancelled_task_finished(virtual_clock):
    # SPEC 5.5 flowno bug 2: "cannot reuse already awaited coroutine" must not appear.
    async def child():
        try:
            await sleep(2)
        except TaskCancelled:
            return "stopped"

    handle = await spawn(child())
    await sleep(1)
    handle.cancel()
    await sleep(5)  # well past the old deadline
    assert handle.is_finished and not handle.is_error
    assert await handle.join() == "stopped"


async def test_loop_cancel_by_raw_coroutine():
    loop = current_event_loop()

    async def child():
        await sleep(100)

    coro = child()
    handle = await spawn(coro)
    assert loop.has_living_tasks()
    assert loop.cancel(coro) is True
    assert loop.cancel(coro) is True  # pending still, no second throw
    with pytest.raises(TaskCancelled):
        await handle.join()
    assert loop.cancel(coro) is False  # already ended
    assert loop.cancel(object()) is False  # unknown


async def test_a_task_can_cancel_itself():
    async def child():
        handle = me[0]
        assert handle.cancel()
        await sleep(0)
        return "not reached"

    me = [current_event_loop().create_task(child())]  # the child has not started yet
    with pytest.raises(TaskCancelled):
        await me[0].join()


async def test_join_waiter_is_released_if_it_is_cancelled_and_the_target_keeps_running():
    async def target():
        await sleep(5)
        return "target"

    async def joiner(handle):
        return await handle.join()

    target_handle = await spawn(target())
    joiner_handle = await spawn(joiner(target_handle))
    await sleep(1)
    await joiner_handle.cancel()
    assert joiner_handle.is_cancelled
    assert await target_handle.join() == "target"


# ---------------------------------------------------------------------------------------- exit


def test_exit_value_is_returned_with_join_and_pending_tasks_are_closed():
    cleaned = []

    async def sleeper():
        try:
            await sleep(100)
        finally:
            cleaned.append("sleeper")

    async def main():
        await spawn(sleeper())
        await sleep(1)
        await exit("bye")
        cleaned.append("not reached")

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True) == "bye"
    assert cleaned == ["sleeper"]
    assert not loop.has_living_tasks()
    assert loop.run_until_complete(_exit_again(), join=False) is None


async def _exit_again():
    await exit("ignored without join")


def test_exit_with_exception_raises_it_from_run_until_complete_even_without_join():
    class Stop(Exception):
        pass

    async def main():
        await exit(exception=Stop("now"))

    with pytest.raises(Stop, match="now"):
        run(main(), join=False)


def test_exit_from_a_child_ends_the_loop_before_the_root_completes():
    trace = []

    async def child():
        await sleep(1)
        await exit(return_value=99)

    async def main():
        await spawn(child())
        try:
            await sleep(50)
            trace.append("root woke")
        finally:
            trace.append("root closed")
        return "root"

    assert run(main(), join=True) == 99
    assert trace == ["root closed"]


# ---------------------------------------------------------------------------------------- run contract


def test_join_false_returns_none_even_if_the_root_fails():
    async def main():
        raise ValueError("hidden")

    assert run(main(), join=False) is None


def test_join_true_reraises_the_root_exception():
    async def main():
        await sleep(1)
        raise ValueError("shown")

    with pytest.raises(ValueError, match="shown"):
        run(main(), join=True)


def test_wait_for_spawned_tasks_true_waits_for_children():
    done = []

    async def child():
        await sleep(10)
        done.append("child")

    async def main():
        await spawn(child())
        return "root"

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True, wait_for_spawned_tasks=True) == "root"
    assert done == ["child"]
    assert loop.time() == 10


def test_wait_for_spawned_tasks_false_returns_when_the_root_ends_and_cancels_children():
    trace = []

    async def child():
        try:
            await sleep(10)
            trace.append("child finished")
        except TaskCancelled:
            trace.append("child cancelled")
            raise

    handles = []

    async def main():
        handles.append(await spawn(child()))
        await sleep(1)
        return "root"

    loop = EventLoop(clock=VirtualClock())
    assert loop.run_until_complete(main(), join=True, wait_for_spawned_tasks=False) == "root"
    assert trace == ["child cancelled"]
    assert handles[0].is_cancelled
    assert loop.time() == 1
    assert not loop.has_living_tasks()


def test_wait_for_spawned_tasks_false_reraises_a_failed_root_with_join():
    async def child():
        await sleep(10)

    async def main():
        await spawn(child())
        raise LookupError("root failed")

    with pytest.raises(LookupError):
        run(main(), join=True, wait_for_spawned_tasks=False)


def test_a_cancelled_root_raises_task_cancelled_with_join():
    async def killer(root_coro):
        await sleep(1)
        current_event_loop().cancel(root_coro)

    async def main():
        await spawn(killer(current_task()))
        await sleep(10)

    with pytest.raises(TaskCancelled):
        run(main(), join=True)


def test_child_failures_do_not_end_the_run():
    async def child():
        raise ValueError("child failure")

    async def main():
        handle = await spawn(child())
        await sleep(1)
        return handle.is_error

    assert run(main()) is True


def test_run_until_complete_is_not_reentrant_on_one_thread():
    other = EventLoop()
    errors = []

    async def inner():
        return 1

    async def main():
        for loop in (other, current_event_loop()):
            try:
                loop.run_until_complete(inner(), join=True)
            except RuntimeError as error:
                errors.append(str(error))
        return "ok"

    assert run(main()) == "ok"
    assert len(errors) == 2
    assert all("already running" in message for message in errors)


def test_a_loop_can_run_many_times():
    loop = EventLoop(clock=VirtualClock())

    async def main(i):
        handle = await spawn(sleep(i))
        return await handle.join()

    assert [loop.run_until_complete(main(i), join=True) for i in range(20)] == [float(i) for i in range(20)]
    assert not loop.is_running()


def test_create_task_before_the_run_starts_queues_the_task():
    loop = EventLoop(clock=VirtualClock())
    trace = []

    async def early():
        trace.append("early")
        return "e"

    handle = loop.create_task(early())

    async def main():
        await sleep(1)
        return await handle.join()

    assert loop.run_until_complete(main(), join=True) == "e"
    assert trace == ["early"]


# ---------------------------------------------------------------------------------------- bad awaits


def test_awaiting_asyncio_sleep_raises_unknown_command_error_naming_the_task():
    async def misguided_task():
        await asyncio.sleep(0)

    with pytest.raises(UnknownCommandError) as info:
        run(misguided_task())
    message = str(info.value)
    assert "misguided_task" in message
    assert "asyncio.sleep(0)" in message or "bare `yield`" in message
    assert isinstance(info.value, RuntimeError)


def test_awaiting_an_asyncio_future_raises_unknown_command_error_naming_the_task():
    aloop = asyncio.new_event_loop()
    try:
        future = aloop.create_future()

        async def waits_for_future():
            await future

        with pytest.raises(UnknownCommandError, match="task .*waits_for_future.* yielded <Future"):
            run(waits_for_future())
    finally:
        aloop.close()


def test_a_task_can_catch_the_unknown_command_error_and_go_on():
    async def child():
        try:
            await asyncio.sleep(0)
        except UnknownCommandError:
            pass
        await sleep(1)
        return "recovered"

    async def main():
        handle = await spawn(child())
        return await handle.join()

    assert run(main()) == "recovered"


# ---------------------------------------------------------------------------------------- current_*


def test_current_task_and_loop_outside_any_task_are_none():
    assert current_task() is None
    assert current_event_loop() is None


def test_current_task_and_loop_inside_tasks():
    loop = EventLoop(clock=VirtualClock())
    seen = {}

    async def child():
        seen["child"] = (current_task(), current_event_loop())

    async def main():
        seen["root"] = (current_task(), current_event_loop())
        handle = await spawn(child_coro)
        await handle.join()
        seen["root-after"] = current_task()

    child_coro = child()
    root_coro = main()
    loop.run_until_complete(root_coro, join=True)
    assert seen["root"] == (root_coro, loop)
    assert seen["child"] == (child_coro, loop)
    assert seen["root-after"] is root_coro
    assert current_task() is None and current_event_loop() is None


def test_current_event_loop_in_a_timer_callback_is_the_running_loop():
    loop = EventLoop(clock=VirtualClock())
    seen = []

    async def main():
        current_event_loop().call_later(1, lambda: seen.append((current_event_loop(), current_task())))
        await sleep(2)

    loop.run_until_complete(main(), join=True)
    assert seen == [(loop, None)]


# ---------------------------------------------------------------------------------------- context vars

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("kernel_test_var", default="unset")


def test_each_task_runs_in_a_copy_of_its_parents_context():
    seen = {}

    async def child():
        seen["child-start"] = VAR.get()
        VAR.set("child")
        await sleep(1)
        seen["child-end"] = VAR.get()

    async def sibling():
        seen["sibling"] = VAR.get()

    async def main():
        VAR.set("parent")
        handle = await spawn(child())
        VAR.set("parent-later")  # after the spawn: the child already has its copy
        await spawn(sibling())
        await handle.join()
        seen["parent-end"] = VAR.get()

    token = VAR.set("caller")
    try:
        run(main())
        assert VAR.get() == "caller"  # the root's changes do not leak to the caller either
    finally:
        VAR.reset(token)
    assert seen == {
        "child-start": "parent",
        "child-end": "child",
        "sibling": "parent-later",
        "parent-end": "parent-later",
    }


def test_root_sees_the_callers_context():
    async def main():
        return VAR.get()

    token = VAR.set("from caller")
    try:
        assert run(main()) == "from caller"
    finally:
        VAR.reset(token)


def test_task_cancelled_is_a_dataclass_exception_carrying_the_handle():
    import dataclasses

    handles = []

    async def child():
        await sleep(10)

    async def main():
        handles.append(await spawn(child()))
        await sleep(1)
        handles[0].cancel()
        try:
            await handles[0].join()
        except TaskCancelled as error:
            return error

    error = run(main())
    assert dataclasses.is_dataclass(error)
    assert isinstance(error, Exception)
    assert error.by is handles[0]
    assert str(error) == "Task was cancelled"


def test_unknown_objects_other_than_none_get_a_hint_about_foreign_event_loops():
    @types.coroutine
    def yields_junk():
        yield "junk"

    async def main():
        await yields_junk()

    with pytest.raises(UnknownCommandError, match=r"yielded 'junk'.*asyncio/trio object"):
        run(main())
