"""Producer side (SPEC §3.1, §2.2, §2.3, §3.11 / D7): chunk generations, get_data during and after a
lap, consumer-less streams, generator-shaped errors."""

from __future__ import annotations

from typing import Any

import pytest

from flowno_core import Stream, TerminateLimitReached, node, sleep

from .helpers import vflow


def test_chunks_are_published_at_k_j_and_the_final_value_at_k() -> None:
    """Inside a cycle, lap k publishes chunks (k, 0), (k, 1), ... then (k,). During the lap
    get_data(0) is the previous lap's final value and get_data(1) the latest chunk."""
    seen: list[tuple[Any, ...]] = []

    @node
    async def Tick(previous: Any = None):
        return 0 if previous is None else previous[-1] // 10 + 1

    @node
    async def Chunks(lap: int):
        for j in range(3):
            yield lap * 10 + j

    @node(stream_in=["chunks"])
    async def Reader(chunks: Stream[int]):
        got = []
        async for chunk in chunks:
            got.append(chunk)
            seen.append((chunk, f.chunks.generation, f.chunks.get_data(0), f.chunks.get_data(1), f.chunks.get_data(2)))
        return got

    with vflow() as f:
        f.tick = Tick(f.reader)
        f.chunks = Chunks(f.tick)
        f.reader = Reader(f.chunks)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.tick: (3,)})

    expected = []
    for lap in range(3):
        previous_final = None if lap == 0 else (sum(range((lap - 1) * 10, (lap - 1) * 10 + 3)),)
        for j in range(3):
            expected.append((lap * 10 + j, (lap, j), previous_final, (lap * 10 + j,), None))
    assert seen == expected
    # after the lap: the final value at (k,), no chunk at level 1
    assert f.chunks.generation == (2,)
    assert f.chunks.get_data(0) == (20 + 21 + 22,)
    assert f.chunks.get_data() == (63,)
    assert f.chunks.get_data(1) is None
    assert f.reader.get_data() == ([20, 21, 22],)


def test_a_level_0_consumer_of_a_streaming_producer_sees_only_final_values() -> None:
    seen: list[Any] = []

    @node
    async def Chunks():
        for j in range(4):
            yield j

    @node
    async def Final(value):
        seen.append((value, f.chunks.generation))
        return value

    with vflow() as f:
        f.chunks = Chunks()
        f.final = Final(f.chunks)
    f.run_until_complete()
    assert seen == [(6, (0,))]
    assert f.final.generation == (0,)


def test_generation_of_a_stream_stopped_by_a_chunk_limit() -> None:
    @node
    async def Chunks():
        for j in range(10):
            yield j

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.chunks = Chunks()
        f.reader = Reader(f.chunks)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.chunks: (0, 3)})
    assert f.chunks.generation == (0, 3)
    assert f.chunks.get_data(1) == (3,)
    assert f.chunks.get_data(0) is None  # no completed final value yet


# -- D7: a streaming node with no consumers runs to the end -------------------------------------------


def test_a_consumer_less_streaming_node_runs_to_the_end_and_publishes_its_final_value() -> None:
    produced: list[int] = []

    @node
    async def Lonely():
        for j in range(5):
            produced.append(j)
            yield j

    with vflow() as f:
        f.lonely = Lonely()
    f.run_until_complete()
    assert produced == [0, 1, 2, 3, 4]
    assert f.lonely.generation == (0,)
    assert f.lonely.get_data() == (10,)
    assert f.lonely.get_data(1) is None


def test_a_consumer_less_stream_with_sleeps_runs_alongside_other_work() -> None:
    order: list[str] = []

    @node
    async def Lonely():
        for j in range(3):
            await sleep(1)
            order.append(f"lonely{j}")
            yield j

    @node
    async def Other():
        await sleep(1.5)
        order.append("other")
        return 1

    with vflow() as f:
        f.lonely = Lonely()
        f.other = Other()
    f.run_until_complete()
    assert order == ["lonely0", "other", "lonely1", "lonely2"]
    assert f.lonely.get_data() == (3,)


def test_a_consumer_less_pass_through_also_runs_to_the_end() -> None:
    @node
    async def Source():
        for j in range(4):
            yield j

    @node(stream_in=["xs"])
    async def Double(xs: Stream[int]):
        async for x in xs:
            yield 2 * x

    with vflow() as f:
        f.source = Source()
        f.double = Double(f.source)
    f.run_until_complete()
    assert f.source.get_data() == (6,)
    assert f.double.get_data() == (12,)
    assert f.double.generation == (0,)


def test_a_pass_through_whose_only_consumer_is_level_0_runs_to_the_end() -> None:
    order: list[str] = []

    @node
    async def Source():
        for j in range(4):
            order.append(f"source{j}")
            yield j

    @node(stream_in=["xs"])
    async def Double(xs: Stream[int]):
        async for x in xs:
            order.append(f"double{x}")
            yield 2 * x

    @node
    async def Total(total: int):
        order.append(f"total{total}")
        return total

    with vflow() as f:
        f.source = Source()
        f.double = Double(f.source)
        f.total = Total(f.double)
    f.run_until_complete()
    assert f.total.get_data() == (12,)
    # the source is paced by its one streaming reader
    assert order == [
        "source0", "double0", "source1", "double1", "source2", "double2", "source3", "double3", "total12"
    ]


def test_a_streaming_node_whose_only_consumers_are_mono_runs_each_consumer_once() -> None:
    calls: list[Any] = []

    @node
    async def Chunks():
        for j in range(3):
            yield j

    @node
    async def Mono(value):
        calls.append(value)
        return value

    with vflow() as f:
        f.chunks = Chunks()
        f.a = Mono(f.chunks)
        f.b = Mono(f.chunks)
    f.run_until_complete()
    assert calls == [3, 3]


def test_multi_output_generator_must_yield_tuples() -> None:
    @node(multiple_outputs=True)
    async def Bad():
        yield 1

    with vflow() as f:
        f.bad = Bad()
    with pytest.raises(TypeError, match=r"^bad \(Bad\) is a multiple_outputs node but yielded int 1"):
        f.run_until_complete()


def test_single_output_generator_chunks_are_wrapped() -> None:
    seen: list[Any] = []

    @node
    async def Pairs():
        yield (1, 2)
        yield (3, 4)

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[Any]):
        async for x in xs:
            seen.append((x, f.pairs.get_data(1)))

    with vflow() as f:
        f.pairs = Pairs()
        f.reader = Reader(f.pairs)
    f.run_until_complete()
    assert seen == [((1, 2), ((1, 2),)), ((3, 4), ((3, 4),))]
    assert f.pairs.get_data() == ((1, 2, 3, 4),)  # tuples are concatenated (D6)


def test_the_first_chunk_is_produced_during_the_level_0_evaluation() -> None:
    """A generator node starts producing as soon as it is started, before any consumer reads."""
    order: list[str] = []

    @node
    async def Chunks():
        order.append("chunks-start")
        yield 1
        order.append("chunks-resumed")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        order.append("reader-start")
        async for x in xs:
            order.append(f"read{x}")

    with vflow() as f:
        f.reader = Reader(f.chunks)  # the consumer is defined first
        f.chunks = Chunks()
    f.run_until_complete()
    assert order == ["chunks-start", "reader-start", "read1", "chunks-resumed"]


@pytest.mark.parametrize("how", ["break", "azip"])
def test_a_stream_whose_only_reader_stops_early_still_runs_to_the_end(how: str) -> None:
    """D7 and SPEC §6.1 item 5: once nobody reads it, a streaming node runs its generator to the end,
    and the first run of an acyclic graph leaves every node at generation (0,)."""
    from flowno_core import azip

    log: list[str] = []

    @node
    async def Numbers():
        for i in range(5):
            yield i
        log.append("numbers-end")

    @node
    async def Letters():
        for letter in "ab":
            yield letter

    @node(stream_in=["xs", "letters"])
    async def FirstTwo(xs: Stream[int], letters: Stream[str]):
        if how == "azip":
            return [pair async for pair in azip(xs, letters)]
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 2:
                break
        return got

    with vflow(grace=0.01) as f:
        f.numbers = Numbers()
        f.letters = Letters()
        f.first = FirstTwo(f.numbers, f.letters)
    f.run_until_complete()
    expected = [0, 1] if how == "break" else [(0, "a"), (1, "b")]
    assert f.first.get_data() == (expected,)
    assert log == ["numbers-end"]
    assert f.numbers.generation == (0,)
    assert f.numbers.get_data() == (10,)
