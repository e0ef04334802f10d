"""Error paths: node errors name the node (D4), terminate_on_node_error both ways, gather errors
(D3: missing output index, no value for a port without default), deadlocks raise instead of
hanging (D3), failed streaming producers (§3.3 fix), and re-running after an error (D5)."""

from __future__ import annotations

from flowno_core._graph.description.naming import node_label, port_label

import pytest

from flowno_core import (
    DeadlockError,
    Event,
    MissingDefaultError,
    NodeExecutionError,
    Stream,
    TerminateLimitReached,
    node,
)

from .helpers import vflow

log: list[str] = []


@pytest.fixture(autouse=True)
def _clear_log():
    log.clear()


@node
async def Src():
    log.append("Src")
    return 1


@node
async def Bad(x):
    log.append("Bad")
    raise ValueError(f"bad {x}")


@node
async def Dep(x):
    log.append("Dep")
    return x


@node
async def Good(x):
    log.append("Good")
    return x


def _graph():
    with vflow() as f:
        f.src = Src()
        f.bad = Bad(f.src)
        f.dep1 = Dep(f.bad)
        f.dep2 = Dep(f.dep1)
        f.good = Good(f.src)
        f.good2 = Good(f.good)
        f.other = Src()
    return f


# ------------------------------------------------------------------------------------ D4
def test_the_very_exception_object_leaves_the_run_with_its_traceback():
    raised = []

    @node
    async def Explode():
        error = LookupError("exploded")
        raised.append(error)
        raise error

    with vflow() as f:
        f.e = Explode()
    with pytest.raises(LookupError) as info:
        f.run_until_complete()
    assert info.value is raised[0]
    assert any(entry.name == "Explode" for entry in info.traceback)  # the node's own frame


def test_the_original_exception_is_raised_with_a_note_naming_node_and_generation():
    f = _graph()
    with pytest.raises(ValueError, match="bad 1") as info:
        f.run_until_complete()  # FlowHDL: terminate_on_node_error=True by default
    notes = getattr(info.value, "__notes__", [])
    assert any(node_label(f.bad) in note and "(0,)" in note for note in notes), notes
    assert not isinstance(info.value, NodeExecutionError)
    assert f.bad.generation is None
    assert f.dep1.generation is None and f.dep2.generation is None
    assert "Dep" not in log


def test_the_note_names_the_generation_being_computed():
    @node
    async def FailSecond(x: int = 0):
        if x:
            raise RuntimeError("second lap")
        return x + 1

    with vflow() as f:
        f.n = FailSecond(f.n)
    with pytest.raises(RuntimeError, match="second lap") as info:
        f.run_until_complete()
    assert any(node_label(f.n) in note and "(1,)" in note for note in info.value.__notes__)
    assert f.n.generation == (0,)


def test_terminate_on_node_error_false_skips_dependants_and_finishes_the_rest():
    f = _graph()
    with pytest.raises(NodeExecutionError) as info:
        f.run_until_complete(terminate_on_node_error=False)
    error = info.value
    assert error.node is f.bad
    assert isinstance(error.__cause__, ValueError) and str(error.__cause__) == "bad 1"
    assert node_label(f.bad) in str(error)
    assert f.bad.generation is None
    assert f.dep1.generation is None and f.dep2.generation is None  # dependants skipped
    assert (f.good.get_data(), f.good2.get_data(), f.other.get_data()) == ((1,), (1,), (1,))
    assert log.count("Bad") == 1  # not evaluated again in the same run
    assert "Dep" not in log


def test_flow_and_flowhdl_both_default_to_ending_the_run_on_a_node_error():
    # flowno ignored the flag, so code written for it sees "a node error ends the run" through both
    for run in (lambda f: f.run_until_complete(), lambda f: f._flow.run_until_complete()):
        log.clear()
        f = _graph()
        with pytest.raises(ValueError, match="bad 1") as info:
            run(f)
        assert not isinstance(info.value, NodeExecutionError)  # the original exception, with a note
        assert any(node_label(f.bad) in note for note in info.value.__notes__)


def test_several_failures_are_reported_as_an_exception_group():
    with vflow() as f:
        f.b1 = Bad(1)
        f.b2 = Bad(2)
        f.g = Good(3)
        f.after = Dep(f.b2)
    with pytest.raises(ExceptionGroup) as info:
        f.run_until_complete(terminate_on_node_error=False)
    errors = info.value.exceptions
    assert all(isinstance(e, NodeExecutionError) for e in errors)
    assert {e.node for e in errors} == {f.b1, f.b2}
    assert sorted(str(e.__cause__) for e in errors) == ["bad 1", "bad 2"]
    assert f.g.get_data() == (3,)
    assert f.after.generation is None


def test_with_terminate_true_the_first_error_ends_the_run():
    with vflow() as f:
        f.b1 = Bad(1)
        f.b2 = Bad(2)
    with pytest.raises(ValueError, match="bad 1"):
        f.run_until_complete(terminate_on_node_error=True)
    assert log.count("Bad") == 1


def test_a_failing_cycle_member_ends_the_cycle_without_a_deadlock():
    @node
    class Flaky:
        fails = 1

        async def call(self, x: int = 0):
            log.append(f"Flaky({x})")
            if x == 2 and self.fails:
                self.fails -= 1
                raise ValueError("flaky")
            return x + 1

    @node
    async def Dbl(x):
        log.append(f"Dbl({x})")
        return x * 2

    for terminate in (True, False):
        log.clear()
        with vflow() as f:
            f.a = Flaky(f.b)
            f.b = Dbl(f.a)
        expected = ValueError if terminate else NodeExecutionError
        with pytest.raises(expected):
            f.run_until_complete(terminate_on_node_error=terminate, stop_at_node_generation={f.a: (3,)})
        assert log == ["Flaky(0)", "Dbl(1)", "Flaky(2)"]
        assert (f.a.generation, f.b.generation) == ((0,), (0,))
        # D5: running again continues from the stored state (the flaky node now succeeds)
        log.clear()
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(terminate_on_node_error=terminate, stop_at_node_generation={f.a: (3,)})
        assert log == ["Flaky(2)", "Dbl(3)", "Flaky(6)", "Dbl(7)", "Flaky(14)"]
        assert (f.a.generation, f.a.get_data(), f.b.generation) == ((3,), (15,), (2,))


def test_an_error_in_a_generator_names_the_chunk_generation():
    @node
    async def Gen():
        yield 1
        raise KeyError("gen broke")

    @node
    async def Whole(x):
        return x

    with vflow() as f:
        f.g = Gen()
        f.w = Whole(f.g)
    with pytest.raises(KeyError) as info:
        f.run_until_complete()
    assert any(node_label(f.g) in note and "(0, 1)" in note for note in info.value.__notes__)
    assert f.w.generation is None


# ------------------------------------------------------------------------------------ §3.3 fix
def _failing_stream():
    @node
    async def Gen():
        log.append("y1")
        yield 1
        raise KeyError("gen broke")

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]):
        out = []
        try:
            async for x in xs:
                out.append(x)
        except NodeExecutionError as error:
            log.append(f"caught {error.node!r}")
            return out
        return out

    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
        f.o = Src()
    return f


def test_failed_streaming_producer_ends_the_run_with_its_error():
    f = _failing_stream()
    with pytest.raises(KeyError, match="gen broke"):
        f.run_until_complete(terminate_on_node_error=True)


def test_failed_streaming_producer_makes_the_pending_read_raise_node_execution_error():
    f = _failing_stream()
    with pytest.raises(NodeExecutionError) as info:
        f.run_until_complete(terminate_on_node_error=False)
    assert info.value.node is f.g and isinstance(info.value.__cause__, KeyError)
    assert f"caught {f.g!r}" in log
    assert f.r.get_data() == ([1],)  # the consumer caught it and returned normally
    assert f.o.get_data() == (1,)


# ------------------------------------------------------------------------------------ gather (D3)
def test_missing_output_index_is_an_index_error_naming_consumer_port_producer_and_index():
    with vflow() as f:
        f.src = Src()
        f.use = Dep(f.src.output(5))
    with pytest.raises(IndexError) as info:
        f.run_until_complete()
    message = str(info.value)
    assert port_label(f.use, 0) in message
    assert node_label(f.src) in message and "5" in message
    assert f.use.generation is None


def test_missing_output_index_with_terminate_false_also_raises():
    with vflow() as f:
        f.src = Src()
        f.use = Dep(f.src.output(1))
    with pytest.raises(IndexError):
        f.run_until_complete(terminate_on_node_error=False)


def test_a_streaming_producer_with_no_value_feeding_a_port_without_default():
    @node
    async def Nothing():
        return
        yield  # an async generator that yields nothing

    with vflow() as f:
        f.n = Nothing()
        f.use = Dep(f.n)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete(terminate_on_node_error=False)
    assert str(info.value).startswith(f"  {f.use!r} must have defaults for EACH/ALL the underlined parameters:")
    assert "Dep" not in log


def test_multi_output_node_returning_none_publishes_no_data():
    @node(multiple_outputs=True)
    async def Maybe():
        return None

    @node
    async def UseOr(x=7):
        return x

    with vflow() as f:
        f.m = Maybe()
        f.u = UseOr(f.m)
    f.run_until_complete()
    assert (f.m.generation, f.m.get_data(), f.u.get_data()) == ((0,), None, (7,))


# ------------------------------------------------------------------------------------ deadlocks (D3)
def test_a_node_waiting_forever_is_a_deadlock_naming_it():
    never = Event()

    @node
    async def Wait():
        await never.wait()
        return 1

    with vflow() as f:
        f.w = Wait()
        f.after = Good(f.w)
        f.src = Src()
    with pytest.raises(DeadlockError) as info:
        f.run_until_complete()
    assert isinstance(info.value, RuntimeError)
    assert node_label(f.w) in str(info.value)
    assert f.src.get_data() == (1,)


def test_two_nodes_waiting_on_each_other_are_both_named_even_with_a_max_wait_time():
    first, second = Event(), Event()

    @node
    async def WaitFirst():
        await first.wait()
        await second.set()
        return 1

    @node
    async def WaitSecond():
        await second.wait()
        await first.set()
        return 2

    with vflow() as f:
        f.a = WaitFirst()
        f.b = WaitSecond()
    with pytest.raises(DeadlockError) as info:
        f.run_until_complete(_debug_max_wait_time=0.001)
    assert node_label(f.a) in str(info.value) and node_label(f.b) in str(info.value)


def test_a_stream_reader_stuck_behind_its_producer_is_named_with_what_it_waits_for():
    never = Event()

    @node
    async def Gen():
        yield 1
        await never.wait()
        yield 2

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
        f.after = Dep(f.r)
    with pytest.raises(DeadlockError) as info:
        f.run_until_complete()
    message = str(info.value)
    assert node_label(f.g) in message
    reader_lines = [line for line in message.splitlines() if node_label(f.r) in line]
    assert reader_lines and node_label(f.g) in reader_lines[0] and "input 'xs'" in reader_lines[0]  # the reader waits for the producer


def test_nothing_else_runs_once_a_node_error_ended_the_run():
    wake = Event()

    @node
    async def FailsWhenWoken():
        await wake.wait()
        log.append("A woke")
        raise ValueError("A")

    @node
    async def ReturnsWhenWoken():
        await wake.wait()
        log.append("B woke")
        return "B"

    @node
    async def Waker():
        await wake.set()
        return 1

    with vflow() as f:
        f.a = FailsWhenWoken()
        f.b = ReturnsWhenWoken()
        f.w = Waker()
    with pytest.raises(ValueError, match="A"):
        f.run_until_complete()
    assert log == ["A woke"]  # B was woken too, but the run ended first
    assert f.b.generation is None


def test_iterating_a_streamed_input_not_declared_in_stream_in_hints_at_stream_in():
    @node
    async def Words():
        yield "a"
        yield "b"

    @node
    async def Shout(words):
        return [word.upper() async for word in words]

    with vflow() as f:
        f.words = Words()
        f.loud = Shout(f.words)
    with pytest.raises(TypeError, match="'async for'") as info:
        f.run_until_complete()
    assert (
        "hint: input 'words' is fed by the streaming node words (Words) but is not declared in stream_in, so it "
        "receives the final value; to read the chunks as they come, write @node(stream_in=['words'])"
    ) in info.value.__notes__


def test_a_templates_result_is_named_where_it_is_assigned():
    @node
    async def Add(a: int, b: int) -> int:
        return a + b

    @node
    async def Fail(x: int) -> int:
        raise ValueError(x)

    @node.template
    def AddThenFail(view, x):
        view.inner = Add(x, 1)
        return Fail(view.inner)

    with vflow() as f:
        f.result = AddThenFail(2)
    with pytest.raises(ValueError) as info:
        f.run_until_complete()
    assert "raised by node result (Fail) while computing generation (0,)" in info.value.__notes__
