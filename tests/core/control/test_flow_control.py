"""Run control (issue 13): flow.cancel(reason), flow.pause()/resume() from another thread, and
run_until_complete(timeout=...); bad options refused where they are written."""

from __future__ import annotations

import threading

import pytest

from flowno_core import (
    Event,
    FlowCancelled,
    FlowHDL,
    FlowTimeoutError,
    TerminateLimitReached,
    VirtualClock,
    node,
    sleep,
    to_thread,
)
from flowno_core.errors import NodeConfigurationError

WAIT = 30  # seconds: a safety net for thread hand-offs, never a timing assertion


@node
async def Step(x: int = 0) -> int:
    await sleep(0.01)
    return x + 1


# -- run timeout (virtual time) ----------------------------------------------------------------
def test_a_run_timeout_ends_an_endless_cycle_and_the_next_run_continues():
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Step(f.b)
        f.b = Step(f.a)
    with pytest.raises(FlowTimeoutError) as info:
        f.run_until_complete(timeout=1.0)
    assert info.value.timeout == 1.0
    assert any("(Step)" in note for note in info.value.__notes__)  # what the nodes were doing
    first = f.a.get_data()[0]
    assert first > 10
    with pytest.raises(FlowTimeoutError):
        f.run_until_complete(timeout=1.0)
    assert f.a.get_data()[0] > first  # it went on from where it stopped


def test_a_run_that_finishes_in_time_is_not_affected_by_its_timeout():
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Step()
        f.b = Step(f.a)
    f.run_until_complete(timeout=5.0)
    assert f.b.get_data() == (2,)
    f.run_until_complete(timeout=5.0)  # no timer left over from the first run
    assert f.b.get_data() == (2,)


@pytest.mark.parametrize("bad", [0, -1, "10", True, float("nan")])
def test_a_bad_run_timeout_is_refused(bad):
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Step()
    with pytest.raises(ValueError, match="timeout"):
        f.run_until_complete(timeout=bad)


# -- cancel and pause from another thread -----------------------------------------------------
def test_cancel_from_another_thread_closes_every_node_task_and_runs_finally_blocks():
    started = threading.Event()
    cleaned: list[int] = []

    @node
    async def Loop(x: int = 0) -> int:
        if x >= 3:  # both nodes have run a few times
            started.set()
        try:
            await sleep(0.001)
            return x + 1
        finally:
            cleaned.append(x)

    with FlowHDL() as f:
        f.a = Loop(f.b)
        f.b = Loop(f.a)

    def canceller() -> None:
        assert started.wait(WAIT)
        assert f.cancel("operator said stop")

    thread = threading.Thread(target=canceller)
    thread.start()
    with pytest.raises(FlowCancelled) as info:
        f.run_until_complete()
    thread.join(WAIT)
    assert info.value.reason == "operator said stop" and "operator said stop" in str(info.value)
    finished = max(f.a.get_data()[0], f.b.get_data()[0])  # each evaluation adds one
    assert cleaned[:finished] == list(range(finished))  # every finished evaluation's finally ran once
    assert len(cleaned) in (finished, finished + 1)  # and the cut one's, if one was running
    assert not f.cancel()  # nothing to cancel any more
    with pytest.raises(TerminateLimitReached):  # and the flow continues where it stopped
        f.run_until_complete(stop_at_node_generation={f.a: (f.a._data.gen[0] + 2,)})


def test_cancel_from_inside_a_node():
    @node
    async def Quits(x: int = 0) -> int:
        if x == 3:
            current.cancel("enough")
        return x + 1

    with FlowHDL(clock=VirtualClock()) as f:
        f.q = Quits(f.q)
    current = f
    with pytest.raises(FlowCancelled, match="enough"):
        f.run_until_complete()


def test_pause_lets_running_evaluations_finish_and_starts_nothing_until_resume():
    in_node = threading.Event()
    release = threading.Event()
    begun: list[int] = []

    @node
    async def Work(x: int = 0) -> int:
        begun.append(x)
        if x == 2:
            in_node.set()
            await to_thread(release.wait, WAIT)  # an evaluation running while the pause arrives
        return x + 1

    with FlowHDL() as f:
        f.w = Work(f.w)

    observed: dict[str, object] = {}

    def controller() -> None:
        assert in_node.wait(WAIT)
        assert f.pause()
        release.set()  # the running evaluation may finish now; the next must not begin
        gate = threading.Event()
        f._flow.event_loop.call_soon_threadsafe(gate.set)  # runs after the loop applied the pause
        gate.wait(WAIT)
        for _ in range(50):  # give the loop many chances to (wrongly) begin an evaluation
            done = threading.Event()
            f._flow.event_loop.call_soon_threadsafe(done.set)
            done.wait(WAIT)
        observed["during pause"] = list(begun)
        assert f.resume()
        while len(begun) < 6:
            threading.Event().wait(0.001)
        f.cancel("seen enough")

    thread = threading.Thread(target=controller)
    thread.start()
    with pytest.raises(FlowCancelled):
        f.run_until_complete()
    thread.join(WAIT)
    assert observed["during pause"] == [0, 1, 2]  # 2 finished; 3 did not begin while paused
    assert begun[:6] == [0, 1, 2, 3, 4, 5]


def test_a_paused_run_is_not_a_deadlock():
    paused = threading.Event()

    @node
    async def PauseFirst(x: int = 0) -> int:
        current.pause()  # from inside the run: nothing new begins until resume
        paused.set()
        return x

    @node
    async def Gate(x: int) -> int:
        return x

    with FlowHDL() as g:
        g.p = PauseFirst()
        g.after = Gate(g.p)
    g._flow.deadlock_grace = 0.01
    current = g

    def controller() -> None:
        assert paused.wait(WAIT)
        threading.Event().wait(0.2)  # far beyond the deadlock grace
        assert g.resume()

    thread = threading.Thread(target=controller)
    thread.start()
    g.run_until_complete()
    thread.join(WAIT)
    assert g.after.get_data() == (0,)



def test_pause_and_resume_outside_a_run_do_nothing():
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Step()
    assert not f.pause() and not f.resume() and not f.cancel()
    f.run_until_complete()  # not left paused
    assert f.a.get_data() == (1,)


def test_a_node_named_like_a_control_method_keeps_its_name():
    with FlowHDL(clock=VirtualClock()) as f:
        f.pause = Step()
        f.cancel = Step(f.pause)
    f.run_until_complete()
    assert f.cancel.get_data() == (2,)
    assert f._flow.cancel() is False


# -- options checked where they are written -----------------------------------------------------
@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retry_delay": -2}, "retry_delay"),
        ({"retry_backoff": 0.5}, "retry_backoff"),
        ({"retry_jitter": 2}, "retry_jitter"),
        ({"retry_on": KeyboardInterrupt}, "retry_on"),
        ({"retry_on": "ValueError"}, "retry_on"),
        ({"timeout": 0}, "timeout"),
        ({"chunk_timeout": -1}, "chunk_timeout"),
        ({"on_error": "ignore"}, "on_error"),
        ({"critical": "yes"}, "critical"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_a_bad_node_option_is_refused_naming_the_option_and_the_node(options, words):
    with pytest.raises(NodeConfigurationError) as info:

        @node(**options)
        async def Named(x: int = 0) -> int:
            return x

    assert words in str(info.value) and "Named" in str(info.value)


def test_a_bad_flow_option_is_refused_too():
    with pytest.raises(NodeConfigurationError, match="on_error"):
        FlowHDL(on_error="sometimes")
    with pytest.raises(TypeError, match="retrys"):
        FlowHDL(retrys=3)  # type: ignore[call-arg]


def test_optional_names_must_be_parameters_with_defaults():
    with pytest.raises(NodeConfigurationError, match="nope"):

        @node(optional=["nope"])
        async def A(x: int = 0) -> int:
            return x

    with pytest.raises(NodeConfigurationError, match="default"):

        @node(optional=["x"])
        async def B(x: int) -> int:
            return x
