"""Regression tests for the lifecycle defects of issue 10 that are not stop/re-run properties
(those are in tests/core/properties/test_stop_and_rerun.py). Each failed on the runtime before the
node lifecycle became a transition table."""

from __future__ import annotations

from flowno_core._graph.description.naming import node_label

import threading
import time
from typing import Any

import pytest

from flowno_core import (
    DraftNode,
    FlowHDL,
    Generation,
    NodeExecutionError,
    Stream,
    StreamCancelled,
    TerminateLimitReached,
    node,
    sleep,
    to_thread,
)
from flowno_core.errors import NotAsyncNodeError

from .helpers import vflow


# -- 3: a failing consumer of a self-loop under terminate_on_node_error=False -----------------------
@node
async def Count(x: int = 0) -> int:
    return x + 1


def test_a_failing_consumer_of_a_self_loop_is_reported_and_the_loop_goes_on():
    @node
    async def Bad(x: int) -> int:
        if x >= 2:
            raise ValueError("consumer boom")
        return x

    with vflow() as f:
        f.c = Count(f.c)
        f.b = Bad(f.c)
    with pytest.raises(NodeExecutionError) as info:  # not DeadlockError: nobody waits for a failed node
        f.run_until_complete(terminate_on_node_error=False, stop_at_node_generation={f.c: (5,)})
    assert isinstance(info.value.__cause__, ValueError) and str(info.value.__cause__) == "consumer boom"
    assert isinstance(info.value.__context__, TerminateLimitReached)  # how the run ended, chained
    assert f.c.generation == (5,)  # the independent self-loop ran to its limit
    assert f.b.generation == (0,)


def test_a_failing_stream_reader_of_a_streaming_self_loop_is_reported():
    @node
    async def Gen(x: int = 0):
        for i in range(3):
            yield x + i

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]) -> int:
        got = [value async for value in xs]
        if got[0] >= 2:
            raise ValueError("reader boom")
        return sum(got)

    with vflow() as f:
        f.gen = Gen(f.gen)
        f.r = Reader(f.gen)
    with pytest.raises(NodeExecutionError, match="reader boom"):
        f.run_until_complete(terminate_on_node_error=False, stop_at_node_generation={f.gen: (5,)})
    assert f.gen.generation == (5,)


# -- 4: a producer that catches StreamCancelled, yields once more and re-raises ----------------------
def test_a_stream_cancelled_raised_again_after_one_more_chunk_ends_that_stream_only():
    log: list[Any] = []

    @node
    async def Numbers():
        i = 0
        try:
            while True:
                yield i
                i += 1
        except StreamCancelled:
            log.append("cancelled")
            yield 99  # one more chunk...
            raise  # ...then let the cancellation end the stream

    @node(stream_in=["xs"])
    async def FirstTwo(xs: Stream[int]) -> list[int]:
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 2:
                await xs.cancel()
        return got

    with vflow() as f:
        f.n = Numbers()
        f.first = FirstTwo(f.n)
    f.run_until_complete()  # the flow does not fail
    assert log == ["cancelled"]
    assert f.first.get_data() == ([0, 1],)
    assert f.n.get_data() == (0 + 1 + 99,)  # the stream ended; its chunks, the extra one included, accumulate


# -- 6: one flow run from two threads at once -----------------------------------------------------
def test_a_second_concurrent_run_of_the_same_flow_is_refused_and_the_first_is_unharmed():
    started = threading.Event()
    release = threading.Event()

    @node
    async def Slow() -> int:
        started.set()
        await to_thread(release.wait)
        return 7

    @node
    async def Double(x: int) -> int:
        return 2 * x

    with FlowHDL() as f:
        f.s = Slow()
        f.d = Double(f.s)
    outcome: list[Any] = []
    first = threading.Thread(target=lambda: outcome.append(f.run_until_complete()))
    first.start()
    assert started.wait(10)
    with pytest.raises(RuntimeError, match="already running"):
        f.run_until_complete()
    release.set()
    first.join(10)
    assert [report.outcome for report in outcome] == ["completed"]
    assert f.d.get_data() == (14,)


def test_a_flow_run_from_inside_one_of_its_nodes_is_refused():
    @node
    async def Reenter() -> str:
        try:
            f.run_until_complete()
        except RuntimeError as error:
            return str(error)
        return "no error"

    with vflow() as f:
        f.r = Reenter()
    f.run_until_complete()
    (message,) = f.r.get_data()
    assert "already running" in message or "already running on this thread" in message


# -- 7: a streaming node's finally can await after a limit stopped the flow ----------------------------
def test_a_generator_clean_up_can_await_after_a_limit_stopped_the_flow():
    log: list[str] = []

    @node
    async def Gen():
        try:
            for i in range(10):
                yield i
        finally:
            log.append("finally start")
            await sleep(0.01)
            log.append("finally end")

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]) -> list[int]:
        return [x async for x in xs]

    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.g: (0, 3)})
    assert log == ["finally start", "finally end"]


def test_a_reader_clean_up_can_await_after_a_limit_stopped_the_flow():
    log: list[str] = []

    @node
    async def Gen():
        for i in range(10):
            yield i

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]) -> int:
        try:
            return sum([x async for x in xs])
        finally:
            await sleep(0.01)
            log.append("reader cleaned up")

    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.g: (0, 3)})
    assert log == ["reader cleaned up"]


# -- 8: a flow ending on an error does not wait for a worker thread still blocked ----------------------
def test_a_failing_flow_returns_while_a_worker_thread_is_still_blocked():
    release = threading.Event()
    in_worker = threading.Event()

    def blocked() -> str:
        in_worker.set()
        release.wait(30)
        return "late"

    @node
    async def Waits() -> str:
        return await to_thread(blocked)

    @node
    async def Fails() -> int:
        await to_thread(in_worker.wait, 10)
        raise ValueError("fails")

    with FlowHDL() as f:
        f.w = Waits()
        f.x = Fails()
    try:
        with pytest.raises(ValueError, match="fails"):
            f.run_until_complete()
        assert not release.is_set() and in_worker.is_set()  # returned while the worker still waits
    finally:
        release.set()


# -- 10: a FlowHDL opened inside another's block is a flow of its own ---------------------------------
@node
async def Add(a: int, b: int) -> int:
    return a + b


def test_a_flow_defined_inside_another_flows_block_is_a_flow_of_its_own():
    with FlowHDL() as outer:
        outer.x = Add(1, 2)
        with FlowHDL() as inner:
            inner.y = Add(10, 20)
        outer.z = Add(outer.x, 3)
    assert sorted(outer._nodes) == ["x", "z"]  # nothing merged into the outer flow
    assert len(inner._flow.nodes) == 3 and len(outer._flow.nodes) == 5  # (with their constants)
    inner.run_until_complete()
    outer.run_until_complete()
    assert (inner.y.get_data(), outer.z.get_data()) == ((30,), (6,))


def test_a_connection_from_an_inner_flow_to_the_outer_one_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="created outside this FlowHDL block"):
        with FlowHDL() as outer:
            outer.x = Add(1, 2)
            with FlowHDL() as inner:
                inner.y = Add(outer.x, 1)


# -- 11: a BaseException raised in a node carries the note naming the node ----------------------------
class Abort(BaseException):
    """Not an Exception: it ends the run."""


def test_a_base_exception_raised_in_a_node_escapes_with_the_note_naming_the_node():
    @node
    async def Stops(x: int) -> int:
        raise Abort("stop everything")

    with vflow() as f:
        f.s = Stops(1)
    with pytest.raises(Abort) as info:
        f.run_until_complete()
    assert any(node_label(f.s) in note and "(0,)" in note for note in info.value.__notes__)


def test_keyboard_interrupt_raised_in_a_node_names_the_node():
    @node
    async def Interrupted() -> int:
        raise KeyboardInterrupt

    with vflow() as f:
        f.i = Interrupted()
    with pytest.raises(KeyboardInterrupt) as info:
        f.run_until_complete()
    assert any(node_label(f.i) in note for note in info.value.__notes__)


# -- 13: code written for flowno -------------------------------------------------------------------
def test_a_node_whose_call_is_not_async_raises_what_flowno_raised_for_its_kind():
    @node
    class NotAsync:
        def call(self, x: int) -> int:
            return x

    class HandWritten(DraftNode):
        _minimum_run_level = [0]

        def call(self, x: int) -> tuple[int]:
            return (x,)

    for make, flowno_type, text in (
        (NotAsync, ValueError, "User method must return an async def"),
        (HandWritten, NotImplementedError, "Node must be a coroutine (async def) or an AsyncGenerator"),
    ):
        with vflow() as f:
            f.n = make(1)
        with pytest.raises(flowno_type) as info:
            f.run_until_complete()
        assert str(info.value).startswith(text)
        assert isinstance(info.value, (TypeError, NotAsyncNodeError))  # and still a TypeError, as before


def test_replacing_a_flowhdl_s_flow_before_the_block_registers_the_nodes_with_the_new_flow():
    from flowno_core import Flow

    f = FlowHDL()
    f._flow = Flow()  # flowno's own tests do this
    with f:
        f.total = Add(1, 2)
    assert f.total in f._flow.nodes
    f.run_until_complete()
    assert f.total.get_data() == (3,)


def test_generation_is_a_real_type_alias():
    assert (Generation | int) is not None
    assert isinstance((1, 2), Generation.__args__[0].__origin__)  # tuple[int, ...] | None


# -- 5 and 9: deadlock detection counts every task, and waits other threads can end get a grace ----------
def test_a_helper_task_waiting_forever_is_reported_by_name_instead_of_hanging():
    from flowno_core import DeadlockError, Event, spawn

    never = Event()

    async def forgotten_helper() -> None:
        await never.wait()

    @node
    async def Spawns() -> int:
        await spawn(forgotten_helper())
        return 1

    with vflow() as f:
        f.s = Spawns()
    with pytest.raises(DeadlockError, match="forgotten_helper") as info:
        f.run_until_complete()
    assert "forgotten_helper: waiting for an Event to be set" in str(info.value)
    assert f.s.get_data() == (1,)  # the nodes completed; only the helper hung


def test_a_node_fed_from_another_thread_within_the_grace_is_not_a_deadlock():
    from flowno_core import Event

    arrived = Event()
    box: list[int] = []

    @node
    async def Sensor() -> int:
        await arrived.wait()
        return box[0]

    with FlowHDL() as f:  # the default grace (a few seconds): longer than the thread takes
        f.s = Sensor()

    async def deliver() -> None:
        box.append(42)
        await arrived.set()

    def feeder() -> None:
        time.sleep(0.4)  # longer than the 0.25 s after which the old runtime gave up
        f.create_task(deliver())

    thread = threading.Thread(target=feeder)
    thread.start()
    f.run_until_complete()
    thread.join()
    assert f.s.get_data() == (42,)


def test_deadlock_grace_none_waits_for_other_threads_forever():
    from flowno_core import Event

    go = Event()
    stalled = threading.Event()

    @node
    async def Waits() -> str:
        await go.wait()
        return "released"

    with FlowHDL(deadlock_grace=None) as f:
        f.w = Waits()
    f._flow.event_loop.add_stall_handler(lambda: stalled.set())  # tells the test the loop is idle

    async def release() -> None:
        await go.set()

    def releaser() -> None:
        stalled.wait(10)
        f.create_task(release())

    thread = threading.Thread(target=releaser)
    thread.start()
    f.run_until_complete()
    thread.join()
    assert f.w.get_data() == ("released",)


def test_deadlock_grace_is_validated():
    with pytest.raises(ValueError, match="deadlock_grace"):
        FlowHDL(deadlock_grace=-1)


def test_a_node_fed_through_an_inlet_waits_for_a_slow_sensor_thread_whatever_the_grace():
    from flowno_core import Inlet

    readings: Inlet[float] = Inlet()
    taken = threading.Semaphore(0)

    @node
    async def Sensor():
        async for value in readings:
            taken.release()
            yield value

    @node(stream_in=["values"])
    async def Total(values: Stream[float]) -> float:
        return sum([value async for value in values])

    with FlowHDL(deadlock_grace=0.01) as f:  # a grace far shorter than the gaps between readings
        f.sensor = Sensor()
        f.total = Total(f.sensor)

    def sensor_thread() -> None:
        for value in (1.0, 2.0, 3.0):
            readings.put(value)
            taken.acquire(timeout=10)  # the node took it: it now waits on the inlet again...
            time.sleep(0.05)  # ...for longer than the grace: an open inlet keeps the run alive
        readings.close()

    thread = threading.Thread(target=sensor_thread)
    thread.start()
    f.run_until_complete()
    thread.join()
    assert f.total.get_data() == (6.0,)
