"""Errors in streams and stopping streams (SPEC §3.3 fix, §6.1 item 8, D4, D13, §2.11, §0.2 "D5 with
D13"): a producer's error reaches its consumers and ends the run naming the producer (never
NotImplementedError), producers stopped mid-stream get aclose, chunk limits (k, j), and re-running
after a mid-lap stop continues as a new lap."""

from __future__ import annotations

from flowno_core._graph.description.naming import node_label

from typing import Any

import pytest

from flowno_core import (
    NodeExecutionError,
    Stream,
    TerminateLimitReached,
    current_flow,
    current_node,
    node,
    sleep,
)

from .helpers import vflow


def failing_stream(fail_at: int, catch: bool = False) -> tuple[Any, list[Any]]:
    log: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(5):
                if i == fail_at:
                    raise ValueError("producer broke")
                await sleep(1)
                yield i
        finally:
            log.append("producer-finally")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = []
        try:
            async for x in xs:
                got.append(x)
        except NodeExecutionError as error:
            log.append(("reader-caught", error.node is f.producer, got))
            if catch:
                return got
            raise
        finally:
            log.append("reader-finally")
        return got

    @node
    async def Downstream(value: Any):
        log.append("downstream")
        return value

    @node
    async def Independent():
        await sleep(10)
        log.append("independent")
        return "ok"

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.reader = Reader(f.producer)
        f.downstream = Downstream(f.reader)
        f.independent = Independent()
    return f, log


@pytest.mark.parametrize("fail_at", [0, 2])
def test_producer_error_ends_the_run_with_the_producer_s_exception_and_a_note(fail_at: int) -> None:
    f, log = failing_stream(fail_at)
    with pytest.raises(ValueError, match="producer broke") as info:
        f.run_until_complete(terminate_on_node_error=True)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert node_label(f.producer) in notes
    assert str((0, fail_at)) in notes  # the generation it was computing (D4)
    assert not isinstance(info.value, NotImplementedError)
    assert "producer-finally" in log
    if fail_at:
        assert "reader-finally" in log  # the reader's task was closed too (D13)
    assert "downstream" not in log
    assert current_flow() is None and current_node() is None


def test_with_terminate_false_the_pending_read_raises_node_execution_error() -> None:
    f, log = failing_stream(2)
    with pytest.raises(ExceptionGroup) as info:
        f.run_until_complete(terminate_on_node_error=False)
    errors = info.value.exceptions
    assert all(isinstance(error, NodeExecutionError) for error in errors)
    assert [error.node for error in errors] == [f.producer, f.reader]
    assert isinstance(errors[0].__cause__, ValueError)
    assert isinstance(errors[1].__cause__, NodeExecutionError)
    assert errors[1].__cause__.node is f.producer
    assert ("reader-caught", True, [0, 1]) in log
    assert "independent" in log  # independent parts finish (D4)
    assert "downstream" not in log  # dependants are skipped
    assert f.independent.get_data() == ("ok",)
    assert f.reader.get_data() is None


def test_with_terminate_false_a_producer_failing_before_its_first_chunk_skips_its_readers() -> None:
    f, log = failing_stream(0)
    with pytest.raises(NodeExecutionError) as info:
        f.run_until_complete(terminate_on_node_error=False)
    assert info.value.node is f.producer
    assert isinstance(info.value.__cause__, ValueError)
    assert f.reader.get_data() is None
    assert not any(isinstance(entry, tuple) for entry in log)  # the reader never ran
    assert log == ["producer-finally", "independent"]


def test_with_terminate_false_a_consumer_may_catch_the_error() -> None:
    f, log = failing_stream(2, catch=True)
    with pytest.raises(NodeExecutionError) as info:
        f.run_until_complete(terminate_on_node_error=False)
    assert info.value.node is f.producer
    assert isinstance(info.value.__cause__, ValueError)
    assert ("reader-caught", True, [0, 1]) in log
    assert f.reader.get_data() == ([0, 1],)  # the reader finished its evaluation normally
    assert f.independent.get_data() == ("ok",)


def test_every_consumer_of_a_failed_producer_sees_the_error() -> None:
    seen: list[Any] = []

    @node
    async def Producer():
        yield 1
        raise RuntimeError("broken")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = []
        try:
            async for x in xs:
                got.append(x)
        except NodeExecutionError as error:
            seen.append((repr(current_node()), got, error.node is f.producer))
        return got

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.a = Reader(f.producer)
        f.b = Reader(f.producer)
    with pytest.raises(NodeExecutionError):
        f.run_until_complete(terminate_on_node_error=False)
    assert sorted(seen) == sorted([(repr(f.a), [1], True), (repr(f.b), [1], True)])


def test_a_failing_consumer_closes_the_producer_s_generator() -> None:
    log: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(10):
                yield i
        finally:
            log.append("producer-finally")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        async for x in xs:
            if x == 2:
                raise KeyError("reader broke")

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.reader = Reader(f.producer)
    with pytest.raises(KeyError) as info:
        f.run_until_complete()
    assert node_label(f.reader) in "\n".join(info.value.__notes__)
    assert log == ["producer-finally"]
    assert f.producer.generation == (0, 2)


def test_a_multi_output_generator_yielding_a_non_tuple_names_the_node() -> None:
    @node(multiple_outputs=True)
    async def Bad():
        yield 1, 2
        yield 3

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.bad = Bad()
        f.reader = Reader(f.bad)
    with pytest.raises(TypeError) as info:
        f.run_until_complete()
    assert str(info.value).startswith("bad (Bad) is a multiple_outputs node but yielded int 3")


# -- D13: aclose when a stream is stopped mid-way ---------------------------------------------------


def test_a_generation_limit_closes_every_generator_mid_stream() -> None:
    log: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(100):
                yield i
        finally:
            log.append("producer-finally")

    @node(stream_in=["xs"])
    async def Pass(xs: Stream[int]):
        try:
            async for x in xs:
                yield x
        finally:
            log.append("pass-finally")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        try:
            async for _ in xs:
                await sleep(1)
        finally:
            log.append("reader-finally")

    @node
    async def Lonely():
        try:
            for i in range(100):
                await sleep(0.5)
                yield i
        finally:
            log.append("lonely-finally")

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.passed = Pass(f.producer)
        f.reader = Reader(f.passed)
        f.lonely = Lonely()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.producer: (0, 3)})
    assert sorted(log) == ["lonely-finally", "pass-finally", "producer-finally", "reader-finally"]
    assert f.producer.generation == (0, 3)
    assert current_flow() is None


# -- stop_at_node_generation with chunk limits ------------------------------------------------------


def chain() -> tuple[Any, list[Any]]:
    log: list[Any] = []

    @node
    async def Source():
        for i in range(5):
            log.append(("P", i))
            yield i

    @node(stream_in=["s"])
    async def Times10(s: Stream[int]):
        async for x in s:
            yield x * 10

    @node(stream_in=["s"])
    async def Reader(s: Stream[int]):
        got = []
        async for x in s:
            got.append(x)
            log.append(("R", x))
        return got

    with vflow(grace=0.01) as f:
        f.src = Source()
        f.times = Times10(f.src)
        f.reader = Reader(f.times)
    return f, log


def test_chunk_limit_on_the_producer() -> None:
    f, log = chain()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.src: (0, 2)})
    assert f.src.generation == (0, 2)
    assert f.src.get_data(1) == (2,)
    assert f.src.get_data() is None
    assert [e for e in log if e[0] == "P"] == [("P", 0), ("P", 1), ("P", 2)]


def test_chunk_limit_on_a_pass_through() -> None:
    f, log = chain()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.times: (0, 1)})
    assert f.times.generation == (0, 1)
    assert f.times.get_data(1) == (10,)
    assert f.src.generation == (0, 1)


def test_a_global_chunk_limit_stops_at_the_first_node_reaching_it() -> None:
    f, log = chain()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(0, 0))
    assert f.src.generation == (0, 0)
    assert log == [("P", 0)]


def test_a_final_value_satisfies_a_chunk_limit_of_the_same_lap() -> None:
    @node
    async def Empty():
        if False:  # pragma: no cover
            yield 0
        raise StopAsyncIteration("done")

    with vflow(grace=0.01) as f:
        f.empty = Empty()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.empty: (0, 5)})
    assert f.empty.generation == (0,)
    assert f.empty.get_data() == ("done",)


def test_an_unreached_chunk_limit_lets_the_flow_end_normally() -> None:
    f, _ = chain()
    f.run_until_complete(stop_at_node_generation={f.src: (1, 0)})
    assert f.reader.get_data() == ([0, 10, 20, 30, 40],)


def test_chunk_limit_inside_a_cycle_stops_in_the_right_lap() -> None:
    @node
    async def Producer(start: int = 0):
        for j in range(3):
            yield start + j

    @node(stream_in=["xs"])
    async def Collector(xs: Stream[int]):
        items = [x async for x in xs]
        return items[-1] + 1

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.collector)
        f.collector = Collector(f.producer)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.producer: (2, 1)})
    assert f.producer.generation == (2, 1)
    assert f.producer.get_data(1) == (7,)  # lap 2 starts at 6
    assert f.producer.get_data(0) == (3 + 4 + 5,)  # the previous lap's final value


# -- re-running after a mid-lap stop (SPEC §0.2 "D5 with D13") ---------------------------------------


def test_rerun_after_a_mid_lap_stop_starts_a_new_lap() -> None:
    starts: list[int] = []
    generations: list[Any] = []

    @node
    async def Lonely():
        starts.append(len(starts))
        for i in range(5):
            yield i
            generations.append(f.lonely.generation)

    with vflow(grace=0.01) as f:
        f.lonely = Lonely()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.lonely: (0, 2)})
    assert f.lonely.generation == (0, 2)
    assert f.lonely.get_data(1) == (2,)
    generations.clear()
    f.run_until_complete()
    assert starts == [0, 1]  # the generator started afresh
    assert generations == [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4)]  # as lap k+1
    assert f.lonely.generation == (1,)
    assert f.lonely.get_data() == (10,)


def test_rerun_after_a_mid_lap_stop_a_chain_ends_with_the_new_lap() -> None:
    f, log = chain()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.src: (0, 3)})
    log.clear()
    f.run_until_complete()
    assert [e for e in log if e[0] == "P"] == [("P", i) for i in range(5)]
    assert f.src.generation == (1,)
    assert f.src.get_data() == (10,)
    assert f.times.get_data() == (100,)
    assert f.reader.get_data() == ([0, 10, 20, 30, 40],)


def test_rerun_after_a_mid_lap_stop_a_reader_keeps_the_new_lap_s_result() -> None:
    log: list[Any] = []

    @node
    async def Source():
        for i in range(5):
            yield i

    @node(stream_in=["s"])
    async def Reader(s: Stream[int]):
        got = [x async for x in s]
        log.append(got)
        return got

    with vflow(grace=0.01) as f:
        f.src = Source()
        f.reader = Reader(f.src)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.src: (0, 2)})
    f.run_until_complete()
    assert f.src.generation == (1,)
    assert f.reader.get_data() == ([0, 1, 2, 3, 4],)
    assert [] not in log


def test_rerun_after_a_mid_lap_stop_a_level_0_consumer_gets_the_new_lap_s_final_value() -> None:
    @node
    async def Source():
        for i in range(5):
            yield i

    @node
    async def Total(total: int):
        return total

    with vflow(grace=0.01) as f:
        f.src = Source()
        f.total = Total(f.src)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.src: (0, 2)})
    f.run_until_complete()
    assert f.src.generation == (1,)
    assert f.total.get_data() == (10,)


def test_rerun_after_a_global_first_chunk_stop_completes_the_chain() -> None:
    f, log = chain()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(0, 0))
    f.run_until_complete()
    assert f.src.get_data() == (10,)
    assert f.times.get_data() == (100,)
    assert f.reader.get_data() == ([0, 10, 20, 30, 40],)
