"""Clean termination (D13) after every kind of ending, the context helpers (SPEC §1.1, §2.13) and
FlowHDL.create_task before a run and from another thread (§1.3)."""

from __future__ import annotations

import gc
import signal
import sys
import threading
import warnings

import pytest

from flowno_core import (
    DeadlockError,
    Event,
    NodeExecutionError,
    Stream,
    TerminateLimitReached,
    current_context,
    current_flow,
    current_node,
    node,
    sleep,
    spawn,
)

from .helpers import now, vflow


class Tracker:
    """Collects the clean-up log and everything Python reports as never awaited / ignored."""

    def __init__(self):
        self.log: list[str] = []
        self.unraisable: list[str] = []

    def __enter__(self):
        self._hook = sys.unraisablehook
        sys.unraisablehook = lambda info: self.unraisable.append(f"{info.exc_value!r} in {info.object!r}")
        self._warnings = warnings.catch_warnings(record=True)
        self.warned = self._warnings.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        gc.collect()
        self._warnings.__exit__(*exc)
        sys.unraisablehook = self._hook
        return False

    def check_clean(self, f):
        assert current_flow() is None and current_node() is None
        assert f._flow.event_loop.living_tasks() == []
        assert not f._flow.event_loop.has_living_tasks()


@node
async def Src():
    return 1


def _messy_flow(t: Tracker, *, fail=False, interrupt=False, stop_on_chunk=None, deadlock=False):
    """A flow with a paused streaming producer, a slow streaming reader, a sleeping node, a node
    that spawned a background task, and optionally a failure, a Ctrl-C or a deadlock."""
    never = Event()

    @node
    async def Gen():
        try:
            for i in range(100):
                yield i
        finally:
            t.log.append("gen")

    @node(stream_in=["xs"])
    async def SlowRead(xs: Stream[int]):
        try:
            async for x in xs:
                await sleep(1)
                if x == 2 and interrupt:
                    signal.raise_signal(signal.SIGINT)
                if x == 2 and fail:
                    raise ValueError("read failed")
        finally:
            t.log.append("read")

    @node
    async def Sleeper():
        try:
            if deadlock:
                await never.wait()
            await sleep(1000)
        finally:
            t.log.append("sleeper")

    @node
    async def Spawner():
        async def background():
            try:
                await sleep(500)
            finally:
                t.log.append("background")

        await spawn(background())
        return 1

    with vflow() as f:
        f.gen = Gen()
        f.read = SlowRead(f.gen)
        f.sleeper = Sleeper()
        f.spawner = Spawner()
    return f


def test_clean_after_a_generation_limit():
    with Tracker() as t:
        f = _messy_flow(t)
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(stop_at_node_generation={f.gen: (0, 3)})
        t.check_clean(f)
    assert sorted(t.log) == ["background", "gen", "read", "sleeper"]
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []


def test_clean_after_a_node_error():
    with Tracker() as t:
        f = _messy_flow(t, fail=True)
        with pytest.raises(ValueError, match="read failed"):
            f.run_until_complete()
        t.check_clean(f)
    assert sorted(t.log) == ["background", "gen", "read", "sleeper"]
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []


def test_clean_after_a_node_error_without_terminating():
    with Tracker() as t:
        f = _messy_flow(t, fail=True)
        with pytest.raises(NodeExecutionError):
            f.run_until_complete(terminate_on_node_error=False)
        t.check_clean(f)
        assert now(f) >= 1000  # independent parts (the sleeper, the background task) finished
    assert sorted(t.log) == ["background", "gen", "read", "sleeper"]
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []


def test_clean_after_ctrl_c():
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.fail("Ctrl-C routing needs the main thread")
    with Tracker() as t:
        f = _messy_flow(t, interrupt=True)
        with pytest.raises(KeyboardInterrupt):
            f.run_until_complete()
        t.check_clean(f)
    assert sorted(t.log) == ["background", "gen", "read", "sleeper"]
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_clean_after_a_deadlock():
    with Tracker() as t:
        f = _messy_flow(t, deadlock=True)
        with pytest.raises(DeadlockError):
            f.run_until_complete()
        t.check_clean(f)
    assert sorted(t.log) == ["background", "gen", "read", "sleeper"]
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []


def test_clean_after_a_normal_end_and_background_tasks_delay_the_return():
    with Tracker() as t:

        @node
        async def Gen():
            try:
                yield 1
                yield 2
            finally:
                t.log.append("gen")

        @node
        async def Spawner(x):
            async def background():
                await sleep(7)
                t.log.append("background done")

            await spawn(background())
            return x

        with vflow() as f:
            f.gen = Gen()
            f.spawner = Spawner(f.gen)
        f.run_until_complete()
        t.check_clean(f)
        assert now(f) == pytest.approx(7.0)
    assert t.log == ["gen", "background done"]
    assert f.spawner.get_data() == (3,)
    assert t.unraisable == [] and [str(w.message) for w in t.warned] == []


def test_a_flow_run_after_a_failed_flow_is_not_disturbed():
    """flowno 0.1.19 bug §6.1 item 1: a flow that ended by exception could end a later flow early."""
    for _ in range(3):
        with Tracker() as t:
            f = _messy_flow(t, fail=True)
            with pytest.raises(ValueError):
                f.run_until_complete()
    gc.collect()

    @node
    async def Inc(x: int = 0):
        if x in (0, 25):
            gc.collect()  # finalizers of the failed flows (if any were left) run during this run
        await sleep(0)
        return x + 1

    with vflow() as g:
        g.n = Inc(g.n)
    with pytest.raises(TerminateLimitReached):
        g.run_until_complete(stop_at_node_generation=(50,))
    assert g.n.get_data() == (51,)


# ------------------------------------------------------------------------------------ context helpers
def test_current_node_and_current_flow_inside_nodes_and_spawned_tasks():
    seen = {}

    @node
    async def Probe(x):
        seen["node"] = current_node()
        seen["flow"] = current_flow()

        async def child():
            seen["child node"] = current_node()
            seen["child flow"] = current_flow()

        await spawn(child())
        await sleep(1)
        seen["node again"] = current_node()
        return x

    with vflow() as f:
        f.probe = Probe(1)
    assert current_node() is None and current_flow() is None
    f.run_until_complete()
    assert seen["node"] is f.probe and seen["node again"] is f.probe
    assert seen["flow"] is f._flow
    assert seen["child node"] is None
    assert seen["child flow"] is f._flow
    assert current_node() is None and current_flow() is None


def test_current_context_calls_the_factory_on_every_call():
    calls = []
    seen = []

    def factory(n):
        calls.append(n)
        return {"node": n, "call": len(calls)}

    @node
    async def UsesContext(x):
        first = current_context()
        second = current_context()
        seen.append((first["node"], first["call"], second["call"]))
        return x

    with vflow() as f:
        f.a = UsesContext(1)
        f.b = UsesContext(f.a)
    f.run_until_complete(context_factory=factory)
    assert len(calls) == 4
    assert [s[0] for s in seen] == [f.a, f.b]
    assert [(s[1], s[2]) for s in seen] == [(1, 2), (3, 4)]


#: flowno's texts, which code matches on: each of our messages starts with one, then says how to fix it
FLOWNO_OUTSIDE_FLOW = "current_context() called outside of a flow"
FLOWNO_OUTSIDE_NODE = "current_context() called outside of a node"
FLOWNO_NO_FACTORY = "No context factory provided to run_until_complete()"


def test_current_context_raises_outside_a_flow_outside_a_node_and_without_a_factory():
    with pytest.raises(RuntimeError) as outside:
        current_context()  # outside a flow
    assert str(outside.value).startswith(FLOWNO_OUTSIDE_FLOW) and "inside a node" in str(outside.value)
    errors: dict[str, BaseException] = {}

    @node
    async def Probe():
        try:
            current_context()
        except RuntimeError as error:
            errors["in node"] = error

        async def child():
            try:
                current_context()
            except RuntimeError as error:
                errors["in spawned task"] = error

        await spawn(child())
        return 1

    with vflow() as f:
        f.p = Probe()
    f.run_until_complete()  # no factory: both fail
    assert set(errors) == {"in node", "in spawned task"}
    in_node = str(errors["in node"])
    assert in_node.startswith(FLOWNO_NO_FACTORY) and "Probe#" in in_node and "context_factory=" in in_node
    errors.clear()
    f.run_until_complete(context_factory=lambda n: "ctx")  # with one: only the task that is not a node
    assert set(errors) == {"in spawned task"}
    assert isinstance(errors["in spawned task"], RuntimeError)
    assert str(errors["in spawned task"]).startswith(FLOWNO_OUTSIDE_NODE)
    assert "spawns" in str(errors["in spawned task"])
    with pytest.raises(RuntimeError, match=r"^current_context\(\) called outside of a flow"):
        current_context()  # outside a flow again after the run


# ------------------------------------------------------------------------------------ create_task
def test_create_task_before_the_run():
    done = []

    async def background():
        await sleep(5)
        done.append(current_node())

    with vflow() as f:
        f.x = Src()
    handle = f.create_task(background())
    f.run_until_complete()
    assert done == [None]
    assert handle.is_finished
    assert now(f) == pytest.approx(5.0)
    assert f.x.get_data() == (1,)


def test_create_task_from_another_thread_during_the_run():
    ready = Event()
    threads = []

    @node
    async def WaitForOutside():
        def from_thread():
            f.create_task(release())

        thread = threading.Thread(target=from_thread)
        threads.append(thread)
        thread.start()
        await ready.wait()
        return "released"

    async def release():
        await ready.set()

    with vflow() as f:
        f.w = WaitForOutside()
    f._flow.deadlock_grace = 30  # the other thread wakes the loop long before this (not a timing assert)
    f.run_until_complete()
    threads[0].join()
    assert f.w.get_data() == ("released",)
    assert f._flow.event_loop.living_tasks() == []


def test_two_flows_run_at_the_same_time_in_two_threads():
    results: dict = {}
    barrier = threading.Barrier(2)

    def work(name):
        try:

            @node
            async def Inc(x: int = 0):
                assert current_flow() is f._flow
                assert current_node() is f.n
                await sleep(1)
                return x + 1

            barrier.wait()
            f = vflow()
            with f:
                f.n = Inc(f.n)
            try:
                f.run_until_complete(stop_at_node_generation=(200,))
            except TerminateLimitReached:
                results[name] = (f.n.get_data(), current_flow(), f._flow.event_loop.living_tasks())
        except BaseException as error:  # noqa: BLE001 - reported below
            results[name] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: ((201,), None, []), 1: ((201,), None, [])}


def test_a_run_interrupted_by_ctrl_c_continues_when_run_again():
    log: list[str] = []

    @node
    class Inc:
        interrupted = False

        async def call(self, x: int = 0):
            log.append(f"Inc({x})")
            await sleep(1)
            if x == 3 and not self.interrupted:
                self.interrupted = True
                signal.raise_signal(signal.SIGINT)
                await sleep(0)
            return x + 1

    @node
    async def Dbl(x):
        log.append(f"Dbl({x})")
        return x * 2 - 1

    with vflow() as f:
        f.inc = Inc(f.dbl)
        f.dbl = Dbl(f.inc)
    with pytest.raises(KeyboardInterrupt):
        f.run_until_complete(stop_at_node_generation={f.inc: (4,)})
    assert log == ["Inc(0)", "Dbl(1)", "Inc(1)", "Dbl(2)", "Inc(3)"]
    assert (f.inc.generation, f.dbl.generation) == ((1,), (1,))  # the interrupted evaluation published nothing
    assert current_flow() is None and f._flow.event_loop.living_tasks() == []
    log.clear()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.inc: (4,)})
    assert log == ["Inc(3)", "Dbl(4)", "Inc(7)", "Dbl(8)", "Inc(15)"]
    assert (f.inc.generation, f.inc.get_data()) == ((4,), (16,))
