"""Streams inside cycles (SPEC §3.10): bootstrapping by a default on either edge, the exact
execution orders, the StreamOutList/Upcase/ReverseStream ring and its join/split variant, and a
producer <-> collector cycle that must deliver every chunk of every lap."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import Stream, TerminateLimitReached, node, sleep

from .helpers import vflow


def test_default_on_the_consumer_s_stream_edge_gives_strict_alternation() -> None:
    """SPEC §3.10: A.start, A.done (first lap, default None), then per lap
    B0, A.start, A0, B1, A1, B2, A2, B3, A.done."""
    log: list[str] = []

    @node
    async def B(x: int):
        for i in range(3):
            log.append(f"B{i}")
            yield f"{x}-{i}"
        log.append("B3")

    @node(stream_in=["xs"])
    async def A(xs: Stream[str] | None = None):
        log.append("A.start")
        count = 0
        if xs is not None:
            async for _ in xs:
                log.append(f"A{count}")
                count += 1
        log.append("A.done")
        return count

    with vflow() as f:
        f.a = A(f.b)
        f.b = B(f.a)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (3,)})
    lap = ["B0", "A.start", "A0", "B1", "A1", "B2", "A2", "B3", "A.done"]
    assert log == ["A.start", "A.done"] + lap * 3
    assert f.a.generation == (3,)
    assert f.b.generation == (2,)
    assert f.a.get_data() == (3,)
    assert f.b.get_data() == ("3-03-13-2",)


@pytest.mark.parametrize("a_first", [True, False], ids=["a-defined-first", "b-defined-first"])
def test_default_on_the_producer_s_input_edge(a_first: bool) -> None:
    """The non-streaming edge into the producer carries the default: the producer starts."""
    log: list[str] = []

    @node
    async def B(x: int = 0):
        for i in range(3):
            log.append(f"B{i}")
            yield x + i
        log.append("B3")

    @node(stream_in=["xs"])
    async def A(xs: Stream[int]):
        log.append("A.start")
        total = 0
        async for chunk in xs:
            log.append(f"A{chunk}")
            total += chunk
        log.append("A.done")
        return total

    with vflow() as f:
        if a_first:
            f.a = A(f.b)
            f.b = B(f.a)
        else:
            f.b = B(f.a)
            f.a = A(f.b)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (2,)})
    assert log == [
        *["B0", "A.start", "A0", "B1", "A1", "B2", "A2", "B3", "A.done"],
        *["B0", "A.start", "A3", "B1", "A4", "B2", "A5", "B3", "A.done"],
        *["B0", "A.start", "A12", "B1", "A13", "B2", "A14", "B3", "A.done"],
    ]
    assert f.a.get_data() == (39,)
    assert f.b.get_data() == (39,)


@pytest.mark.parametrize("a_first", [True, False], ids=["a-defined-first", "b-defined-first"])
def test_a_level_0_consumer_in_a_cycle_waits_for_the_final_value(a_first: bool) -> None:
    """SPEC §3.10: a non-streaming edge out of the producer: A, B0, B1, B2, B3, A, ..."""
    log: list[str] = []

    @node
    async def B(x: int):
        for i in range(3):
            log.append(f"B{i}")
            yield x + i
        log.append("B3")

    @node
    async def A(total: int = 0):
        log.append(f"A({total})")
        return total

    with vflow() as f:
        if a_first:
            f.a = A(f.b)
            f.b = B(f.a)
        else:
            f.b = B(f.a)
            f.a = A(f.b)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (3,)})
    assert log == [
        "A(0)",
        *["B0", "B1", "B2", "B3", "A(3)"],
        *["B0", "B1", "B2", "B3", "A(12)"],
        *["B0", "B1", "B2", "B3", "A(39)"],
    ]


@node
async def StreamOutList(x: list[str] | None = None):
    items = ["a", "b"] if x is None else x
    for item in items:
        yield item


@node(stream_in=["stream"])
async def Upcase(stream: Stream[str]):
    async for item in stream:
        yield item.upper()


def test_stream_out_list_upcase_reverse_ring() -> None:
    results: list[Any] = []

    @node(stream_in=["stream"])
    async def ReverseStream(stream: Stream[str]):
        items = [item async for item in stream]
        results.append((f.rev.generation, items[::-1]))
        return items[::-1]

    with vflow() as f:
        f.out = StreamOutList(f.rev)
        f.up = Upcase(f.out)
        f.rev = ReverseStream(f.up)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.rev: (3,)})
    # the list published at generation g (results record the generation before publishing)
    assert results == [
        (None, ["B", "A"]),
        ((0,), ["A", "B"]),
        ((1,), ["B", "A"]),
        ((2,), ["A", "B"]),
    ]
    assert f.rev.generation == (3,)
    assert f.out.generation == (3,)
    assert f.up.generation == (3,)
    assert f.up.get_data() == ("BA",)


def test_stream_out_list_ring_with_split_and_join_up_to_generation_5() -> None:
    results: list[Any] = []

    @node(stream_in=["stream"], multiple_outputs=True)
    async def Split(stream: Stream[str]):
        async for item in stream:
            yield item, item.lower()

    @node(stream_in=["upper", "lower"])
    async def JoinReverse(upper: Stream[str], lower: Stream[str]):
        uppers = [item async for item in upper]  # drains one input before the other
        lowers = [item async for item in lower]
        assert [u.lower() for u in uppers] == lowers
        results.append((f.rev.generation, uppers[::-1]))
        return uppers[::-1]

    with vflow(grace=0.01) as f:
        f.out = StreamOutList(f.rev)
        f.up = Upcase(f.out)
        f.split = Split(f.up)
        f.rev = JoinReverse(f.split.output(0), f.split.output(1))
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.rev: (5,)})
    expected = [["B", "A"], ["A", "B"]] * 3
    assert [r[1] for r in results] == expected
    assert [r[0] for r in results] == [None, (0,), (1,), (2,), (3,), (4,)]
    assert f.split.get_data() == ("BA", "ba")  # the lap that built the last list
    assert f.rev.generation == (5,)


@pytest.mark.parametrize("edge", ["collector", "producer"])
@pytest.mark.parametrize("chunks_per_lap", [1, 2, 3, 7])
def test_producer_collector_cycle_delivers_every_chunk_of_every_lap(edge: str, chunks_per_lap: int) -> None:
    collected: list[list[int]] = []

    if edge == "collector":

        @node
        async def Producer(start: int):
            for j in range(chunks_per_lap):
                yield start + j

        @node(stream_in=["chunks"])
        async def Collector(chunks: Stream[int] | None = None):
            if chunks is None:
                return 0
            items = [c async for c in chunks]
            collected.append(items)
            return items[-1] + 1

    else:

        @node
        async def Producer(start: int = 0):
            for j in range(chunks_per_lap):
                yield start + j

        @node(stream_in=["chunks"])
        async def Collector(chunks: Stream[int]):
            items = [c async for c in chunks]
            collected.append(items)
            return items[-1] + 1

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.collector)
        f.collector = Collector(f.producer)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.producer: (5,)})
    laps = len(collected)
    assert laps >= 5
    assert collected == [list(range(k * chunks_per_lap, (k + 1) * chunks_per_lap)) for k in range(laps)]


def test_streaming_pass_through_inside_a_cycle_keeps_every_lap_whole() -> None:
    laps: list[list[int]] = []

    @node
    async def Source(seed: int = 1):
        for j in range(3):
            yield seed + j

    @node(stream_in=["xs"])
    async def Double(xs: Stream[int]):
        async for x in xs:
            yield 2 * x

    @node(stream_in=["xs"])
    async def Last(xs: Stream[int]):
        items = [x async for x in xs]
        laps.append(items)
        return items[-1]

    with vflow(grace=0.01) as f:
        f.source = Source(f.last)
        f.double = Double(f.source)
        f.last = Last(f.double)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.last: (3,)})
    assert laps == [[2, 4, 6], [12, 14, 16], [32, 34, 36], [72, 74, 76]]


@settings(
    max_examples=200, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=4),
    producer_delays=st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=3),
    a_delays=st.lists(st.sampled_from([0.0, 0.3, 2.0]), min_size=1, max_size=3),
    b_delays=st.lists(st.sampled_from([0.0, 0.3, 2.0]), min_size=1, max_size=3),
    b_start=st.sampled_from([0.0, 1.0, 5.0]),
    level_0_consumer=st.booleans(),
)
def test_random_streaming_cycles_deliver_every_lap_to_every_reader(
    counts: list[int],
    producer_delays: list[float],
    a_delays: list[float],
    b_delays: list[float],
    b_start: float,
    level_0_consumer: bool,
) -> None:
    """Producer -> readers a and b (random speeds, b may start late) -> Back -> Producer, plus an
    optional level-0 consumer. Every reader gets every chunk of every lap, in order."""
    if level_0_consumer:
        counts = [max(count, 1) for count in counts]  # see the empty-lap barrier bug below
    seen: dict[str, list[list[int]]] = {"a": [], "b": []}

    @node
    async def Producer(lap: int = 0):
        for j in range(counts[lap % len(counts)]):
            await sleep(producer_delays[j % len(producer_delays)])
            yield lap * 10 + j

    def reader(name: str, delays: list[float], start: float) -> Any:
        @node(stream_in=["xs"])
        async def Reader(xs: Stream[int]):
            if start:
                await sleep(start)
            got = []
            async for x in xs:
                got.append(x)
                await sleep(delays[len(got) % len(delays)])
            seen[name].append(got)
            return got

        return Reader

    @node
    async def Back(a: Any, b: Any, lap: int = 0):
        return lap + 1

    @node
    async def Total(total: int = -1):
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.back)
        f.a = reader("a", a_delays, 0.0)(f.producer)
        f.b = reader("b", b_delays, b_start)(f.producer)
        f.back = Back(f.a, f.b, f.back)
        if level_0_consumer:
            f.total = Total(f.producer)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.back: (4,)})
    laps = [[k * 10 + j for j in range(counts[k % len(counts)])] for k in range(5)]
    assert seen["a"] == laps
    assert seen["b"] == laps


def test_a_cycle_whose_reader_stops_early_keeps_running_lap_after_lap() -> None:
    """Tick -> Chunks(lap) -> FirstTwo (returns after 2 of 3 chunks) -> Back -> Tick.

    Tick's next value arrives while Chunks is paused after chunk 1 of its lap. SPEC §6.1 item 5:
    every node is evaluated once per new generation of its inputs, so Chunks must finish lap k and
    then run lap k+1; the run ends with the limit on Tick (flowno 0.1.19 does this)."""
    log: list[Any] = []

    @node
    async def Tick(previous: Any = None):
        return 0 if previous is None else previous + 1

    @node
    async def Chunks(lap: int):
        for j in range(3):
            yield lap * 10 + j

    @node(stream_in=["xs"])
    async def FirstTwo(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 2:
                break
        log.append(got)
        return got

    @node
    async def Back(value: Any, lap: int):
        return lap

    with vflow(grace=0.01) as f:
        f.tick = Tick(f.back)
        f.chunks = Chunks(f.tick)
        f.reader = FirstTwo(f.chunks)
        f.back = Back(f.reader, f.tick)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.tick: (4,)})
    assert log == [[0, 1], [10, 11], [20, 21], [30, 31]]


def test_an_empty_lap_feeding_a_level_0_consumer_with_a_default_does_not_block_the_next_lap() -> None:
    """SPEC §3.5: a final value of None means "no data" and consumers use their default. The
    level-0 barrier (§3.4, D2) must not wait for a consumer to gather a value that does not exist."""
    totals: list[Any] = []

    @node
    async def Producer(lap: int = 0):
        for j in range(lap % 2):  # odd laps stream one chunk, even laps none
            yield lap * 10 + j

    @node(stream_in=["xs"])
    async def Collector(xs: Stream[int], lap: int = 0):
        [x async for x in xs]
        return lap + 1

    @node
    async def Total(total: int = -1):
        totals.append(total)
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.collector)
        f.collector = Collector(f.producer, f.collector)
        f.total = Total(f.producer)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.collector: (4,)})
    assert f.producer.generation == (4,)
    assert totals[0] == -1  # lap 0 had no final value: the default
    assert set(totals) <= {-1, 10, 30}  # otherwise the final values of the odd laps
