"""Consumer side (SPEC §1.5, §3.2, §3.3, §3.7, §3.9, D3): the Stream object, reading retained chunks,
reset on a new main generation, per-connection read state, multiple consumers, stream_in ports fed
by non-streaming producers or by producers whose lap is already over, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from flowno_core import MissingDefaultError, Stream, TerminateLimitReached, node, sleep

from .helpers import vflow


@node
async def Numbers(count: int = 3):
    for j in range(count):
        yield j


def test_the_stream_argument() -> None:
    seen: dict[str, Any] = {}

    @node(multiple_outputs=True)
    async def Pairs():
        yield 1, "a"
        yield 2, "b"

    @node(stream_in=["letters"])
    async def Reader(prefix: str, letters: Stream[str]):
        seen["stream"] = letters
        seen["aiter"] = letters.__aiter__()
        return prefix + "".join([x async for x in letters])

    with vflow() as f:
        f.pairs = Pairs()
        f.reader = Reader(">", f.pairs.output(1))
    f.run_until_complete()

    stream = seen["stream"]
    assert isinstance(stream, Stream)
    assert stream.run_level == 1
    assert seen["aiter"] is stream
    assert stream.input.node is f.reader
    assert stream.input.port_index == 1
    assert stream.output.node is f.pairs
    assert stream.output.port_index == 1
    assert f.reader.get_data() == (">ab",)


def test_reading_by_hand_with_anext_and_stop_async_iteration() -> None:
    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = []
        iterator = xs.__aiter__()
        while True:
            try:
                got.append(await iterator.__anext__())
            except StopAsyncIteration:
                break
        # reading past the end keeps raising StopAsyncIteration
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        return got

    with vflow() as f:
        f.numbers = Numbers(4)
        f.reader = Reader(f.numbers)
    f.run_until_complete()
    assert f.reader.get_data() == ([0, 1, 2, 3],)


def _counter_cycle(reader: Any, laps: int) -> Any:
    """Tick -> LapChunks (3 chunks: 10k, 10k+1, 10k+2) -> reader -> Back -> Tick, stopped when Tick
    reaches ``laps``. Back also waits for LapChunks' final value, so a lap always ends before the
    next one starts, whatever the reader does."""

    @node
    async def Tick(previous: Any = None):
        return 0 if previous is None else previous + 1

    @node
    async def LapChunks(lap: int):
        for j in range(3):
            yield lap * 10 + j

    @node
    async def Back(value: Any, lap: int, total: int):
        assert total == 30 * lap + 3
        return lap

    with vflow() as f:
        f.tick = Tick(f.back)
        f.chunks = LapChunks(f.tick)
        f.reader = reader(f.chunks)
        f.back = Back(f.reader, f.tick, f.chunks)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.tick: (laps,)})
    return f


def test_a_new_stream_object_for_every_evaluation() -> None:
    streams: list[Stream[int]] = []

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        streams.append(xs)
        return [x async for x in xs]

    f = _counter_cycle(Reader, 3)
    assert len(streams) == 3
    assert len({id(s) for s in streams}) == 3
    assert f.reader.get_data() == ([20, 21, 22],)


def test_an_old_stream_ends_when_the_producer_starts_a_new_lap() -> None:
    kept: list[Stream[int]] = []
    results: list[Any] = []

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        if kept:
            old = [x async for x in kept[0]]  # lap 0's stream, read during a later lap
            results.append(("old", old))
        kept.append(xs)
        first = await xs.__anext__()
        results.append(("new", first))
        return first

    _counter_cycle(Reader, 3)
    # lap 0 read only chunk 0; later laps: the old stream is over (no chunk of another lap leaks in)
    assert results == [("new", 0), ("old", []), ("new", 10), ("old", []), ("new", 20)]


def test_read_state_resets_on_a_new_main_generation() -> None:
    """A consumer that reads only part of lap k starts lap k+1 at its chunk 0 (SPEC §3.7)."""
    firsts: list[list[int]] = []

    @node(stream_in=["xs"])
    async def FirstTwo(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 2:
                break
        firsts.append(got)
        return got

    _counter_cycle(FirstTwo, 4)
    assert firsts == [[0, 1], [10, 11], [20, 21], [30, 31]]


def test_each_consumer_executes_exactly_once_per_producer_lap() -> None:
    evaluations: dict[str, list[Any]] = {"all": [], "first": [], "none": [], "mono": []}

    @node
    async def Tick(a: Any = None, b: Any = None, c: Any = None, d: Any = None):
        return 0 if a is None else a[-1] // 10 + 1

    @node
    async def LapChunks(lap: int):
        for j in range(4):
            await sleep(0.5)
            yield lap * 10 + j

    @node(stream_in=["xs"])
    async def All(xs: Stream[int]):
        got = [x async for x in xs]
        evaluations["all"].append(got)
        return got

    @node(stream_in=["xs"])
    async def First(xs: Stream[int]):
        async for x in xs:
            evaluations["first"].append(x)
            return x

    @node(stream_in=["xs"])
    async def Ignore(xs: Stream[int]):
        evaluations["none"].append(True)
        await sleep(3)
        return None

    @node
    async def Mono(total: int):
        evaluations["mono"].append(total)
        return total

    with vflow() as f:
        f.tick = Tick(f.all, f.first, f.none, f.mono)
        f.chunks = LapChunks(f.tick)
        f.all = All(f.chunks)
        f.first = First(f.chunks)
        f.none = Ignore(f.chunks)
        f.mono = Mono(f.chunks)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.tick: (3,)})
    assert evaluations["all"] == [[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]
    assert evaluations["first"] == [0, 10, 20]
    assert len(evaluations["none"]) == 3
    assert evaluations["mono"] == [6, 46, 86]


def test_per_connection_read_state_two_ports_on_one_producer() -> None:
    """Two inputs of one node fed by the same producer read independently (drain a, then b)."""

    @node(stream_in=["a", "b"])
    async def Both(a: Stream[int], b: Stream[int]):
        first = [x async for x in a]
        second = [x async for x in b]
        return first, second

    with vflow() as f:
        f.numbers = Numbers(5)
        f.both = Both(f.numbers, f.numbers)
    f.run_until_complete()
    assert f.both.get_data() == (([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]),)


def test_per_connection_read_state_interleaved_ports() -> None:
    """Two ports on one producer read in lockstep: each has its own position."""

    @node(stream_in=["a", "b"])
    async def Zip(a: Stream[int], b: Stream[int]):
        out = []
        ia, ib = a.__aiter__(), b.__aiter__()
        while True:
            try:
                x = await ia.__anext__()
            except StopAsyncIteration:
                break
            out.append((x, await ib.__anext__()))
        with pytest.raises(StopAsyncIteration):
            await ib.__anext__()
        return out

    with vflow(grace=0.01) as f:
        f.numbers = Numbers(4)
        f.zip = Zip(f.numbers, f.numbers)
    f.run_until_complete()
    assert f.zip.get_data() == ([(0, 0), (1, 1), (2, 2), (3, 3)],)


def test_blocking_on_one_port_while_an_active_port_lags_is_reported_as_a_deadlock() -> None:
    """D2 + D3: once port b has been read it is active, so the producer may not run more than one
    chunk ahead of it; a consumer that then waits on port a for a chunk two ahead of b can never be
    served. The run must end with a deadlock error naming the waiting node, not hang."""
    from flowno_core import DeadlockError

    @node(stream_in=["a", "b"])
    async def Skewed(a: Stream[int], b: Stream[int]):
        ia, ib = a.__aiter__(), b.__aiter__()
        await ia.__anext__()
        await ia.__anext__()
        await ib.__anext__()  # b is now active at chunk 0 while chunk 1 is out
        return [x async for x in ia]  # needs chunk 2: b must first read chunk 1

    with vflow(grace=0.01) as f:
        f.numbers = Numbers(4)
        f.skewed = Skewed(f.numbers, f.numbers)
    with pytest.raises(DeadlockError) as info:
        f.run_until_complete()
    assert "(Skewed)" in str(info.value)


def test_several_consumers_read_every_chunk_independently() -> None:
    @node(stream_in=["xs"])
    async def Collect(xs: Stream[int], delay: float):
        got = []
        async for x in xs:
            await sleep(delay)
            got.append(x)
        return got

    with vflow() as f:
        f.numbers = Numbers(6)
        f.a = Collect(f.numbers, 0.1)
        f.b = Collect(f.numbers, 1.0)
        f.c = Collect(f.numbers, 0.0)
    f.run_until_complete()
    for consumer in (f.a, f.b, f.c):
        assert consumer.get_data() == ([0, 1, 2, 3, 4, 5],)


# -- D3: stream_in whatever the producer's kind -------------------------------------------------------


def test_stream_in_fed_by_a_non_streaming_producer_gets_a_one_item_stream() -> None:
    seen: list[Any] = []

    @node
    async def Value():
        return "hello"

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[str]):
        seen.append((isinstance(xs, Stream), xs.run_level, xs.input.node is f.reader, xs.output.node is f.value))
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.value = Value()
        f.reader = Reader(f.value)
    f.run_until_complete()
    assert f.reader.get_data() == (["hello"],)
    assert seen == [(True, 1, True, True)]


def test_stream_in_fed_by_a_multi_output_non_streaming_producer_uses_the_right_output() -> None:
    @node(multiple_outputs=True)
    async def Two():
        return "zero", "one"

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[str]):
        got = []
        iterator = xs.__aiter__()
        got.append(await iterator.__anext__())
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        await xs.cancel()  # nothing to cancel: harmless
        return got

    with vflow(grace=0.01) as f:
        f.two = Two()
        f.reader = Reader(f.two.output(1))
    f.run_until_complete()
    assert f.reader.get_data() == (["one"],)


def test_stream_in_fed_by_a_non_streaming_producer_in_a_cycle_sees_each_new_value() -> None:
    got: list[Any] = []

    @node
    async def Count(previous: Any = None):
        return 0 if previous is None else previous[0] + 1

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        items = [x async for x in xs]
        got.append(items)
        return items

    with vflow(grace=0.01) as f:
        f.count = Count(f.reader)
        f.reader = Reader(f.count)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.count: (3,)})
    assert got == [[0], [1], [2]]


def test_stream_in_fed_by_a_producer_whose_lap_is_over_gets_the_lap_s_retained_chunks() -> None:
    order: list[Any] = []

    @node
    async def Chunks():
        for j in range(4):
            order.append(("produce", j))
            yield j

    @node
    async def Total(value: int):
        order.append(("total", value))
        return value

    @node
    async def Slow():
        await sleep(10)
        return "late"

    @node(stream_in=["xs"])
    async def Late(xs: Stream[int], tag: str):
        order.append(("late-start", f.chunks.generation))
        got = [x async for x in xs]
        order.append(("late-got", got))
        return got

    with vflow(grace=0.01) as f:
        f.chunks = Chunks()
        f.total = Total(f.chunks)
        f.slow = Slow()
        f.late = Late(f.chunks, f.slow)
    f.run_until_complete()
    assert order == [
        ("produce", 0),
        ("produce", 1),
        ("produce", 2),
        ("produce", 3),
        ("total", 6),
        ("late-start", (0,)),
        ("late-got", [0, 1, 2, 3]),
    ]


def test_a_stream_port_and_a_level_0_port_on_the_same_producer() -> None:
    """The level-0 port waits for the final value; the stream port then reads the lap's chunks."""

    @node(stream_in=["xs"])
    async def Both(xs: Stream[int], total: int):
        return [x async for x in xs], total

    with vflow(grace=0.01) as f:
        f.numbers = Numbers(4)
        f.both = Both(f.numbers, f.numbers)
    f.run_until_complete()
    assert f.both.get_data() == (([0, 1, 2, 3], 6),)


def test_each_output_of_a_multi_output_stream_is_read_separately() -> None:
    @node(multiple_outputs=True)
    async def Split():
        for i in range(3):
            yield i, str(i)

    @node(stream_in=["xs"])
    async def Collect(xs: Stream[Any]):
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.split = Split()
        f.numbers = Collect(f.split.output(0))
        f.strings = Collect(f.split.output(1))
    f.run_until_complete()
    assert f.numbers.get_data() == ([0, 1, 2],)
    assert f.strings.get_data() == (["0", "1", "2"],)
    assert f.split.get_data() == (3, "012")


def test_stream_in_fed_by_a_producer_with_an_empty_lap_gets_an_empty_stream() -> None:
    @node
    async def Empty():
        if False:  # pragma: no cover
            yield 0

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.empty = Empty()
        f.reader = Reader(f.empty)
    f.run_until_complete()
    assert f.reader.get_data() == ([],)


def test_a_consumer_that_starts_reading_late_reads_the_retained_chunks_in_order() -> None:
    order: list[Any] = []

    @node
    async def Chunks():
        for j in range(5):
            order.append(("produce", j))
            yield j

    @node(stream_in=["xs"])
    async def Eager(xs: Stream[int]):
        async for x in xs:
            order.append(("eager", x))
            await sleep(1)

    @node(stream_in=["xs"])
    async def Late(xs: Stream[int]):
        await sleep(2.5)
        got = []
        async for x in xs:
            order.append(("late", x))
            got.append(x)
        return got

    with vflow() as f:
        f.chunks = Chunks()
        f.eager = Eager(f.chunks)
        f.late = Late(f.chunks)
    f.run_until_complete()
    assert f.late.get_data() == ([0, 1, 2, 3, 4],)
    # Late joins at t=2.5 while chunk 2 is the latest; it reads 0..2 from the retained chunks and
    # from then on holds the producer back like any active reader
    assert order == [
        ("produce", 0),
        ("eager", 0),
        ("produce", 1),
        ("eager", 1),
        ("produce", 2),
        ("eager", 2),
        ("late", 0),
        ("late", 1),
        ("late", 2),
        ("produce", 3),  # eager read chunk 2 at t=2, late caught up at t=2.5
        ("late", 3),  # late is waiting: it reads at once (t=2.5)
        ("eager", 3),  # eager wakes at t=3
        ("produce", 4),  # both have read chunk 3
        ("late", 4),
        ("eager", 4),
    ]


# -- defaults on stream_in ports (SPEC §3.2) ---------------------------------------------------------


def test_the_default_is_used_only_when_the_producer_has_no_data_yet() -> None:
    received: list[Any] = []

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int] | None = None):
        if xs is None:
            received.append(None)
            return 1
        items = [x async for x in xs]
        received.append(items)
        return len(items) + 1

    @node
    async def Produce(count: int):
        for j in range(count):
            yield j

    with vflow() as f:
        f.reader = Reader(f.produce)
        f.produce = Produce(f.reader)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.reader: (3,)})
    assert received == [None, [0], [0, 1], [0, 1, 2]]


def test_a_cycle_with_no_default_on_either_edge_raises_missing_default_error_before_running() -> None:
    ran: list[str] = []

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        ran.append("reader")
        return 1

    @node
    async def Produce(count: int):
        ran.append("produce")
        yield count

    with vflow() as f:
        f.reader = Reader(f.produce)
        f.produce = Produce(f.reader)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert ran == []
    message = str(info.value)
    assert "Reader#" in message and "Produce#" in message
