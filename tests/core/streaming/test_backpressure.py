"""Back-pressure (SPEC §0 D2, §0.1, §0.2 D2, §3.4, §3.9): a producer never runs more than one chunk
ahead of its slowest *active* streaming consumer, connections not read yet keep their chunks, no
wake-up is lost, and the binary-tree fork/join of streams completes.

Timing scenarios run in virtual time; the logs below are written by the node code itself:
("resume", P, j) right after P's ``yield`` of its chunk j returns, ("read", C, P, j) when consumer C
receives P's chunk j, ("done", C, P) when C stops reading P.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import Stream, TerminateLimitReached, current_node, node, sleep

from .helpers import check_one_ahead, now, vflow

Log = list[tuple[Any, ...]]


def me() -> str:
    return repr(current_node())


def named(name: str, **options: Any) -> Any:
    """``@node(**options)`` with the function renamed (so reprs tell the node classes apart)."""

    def rename(func: Any) -> Any:
        func.__name__ = func.__qualname__ = name
        return node(**options)(func) if options else node(func)

    return rename


class Nodes:
    """Factories of logging node classes sharing one log. Delays are bound in closures (no
    Constant inputs), so every reader is ready as soon as its stream has data."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.count = 0

    def _name(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def source(self, count: int, delays: tuple[float, ...] = ()) -> Any:
        log = self.log

        @named(self._name("Source"))
        async def Source():
            for j in range(count):
                if delays:
                    await sleep(delays[j % len(delays)])
                yield j
                log.append(("resume", me(), j))

        return Source()

    def reader(self, producer: Any, delays: tuple[float, ...] = (), start: float = 0.0) -> Any:
        log = self.log

        @named(self._name("Reader"), stream_in=["xs"])
        async def Reader(xs: Stream[int]):
            if start:
                await sleep(start)
            producer = repr(xs.output.node)
            got = []
            async for x in xs:
                log.append(("read", me(), producer, len(got)))
                got.append(x)
                if delays:
                    await sleep(delays[(len(got) - 1) % len(delays)])
            log.append(("done", me(), producer))
            return got

        return Reader(producer)

    def passthrough(self, producer: Any, delays: tuple[float, ...] = ()) -> Any:
        log = self.log

        @named(self._name("Pass"), stream_in=["xs"])
        async def Pass(xs: Stream[int]):
            producer = repr(xs.output.node)
            count = 0
            async for x in xs:
                log.append(("read", me(), producer, count))
                if delays:
                    await sleep(delays[count % len(delays)])
                yield x
                log.append(("resume", me(), count))
                count += 1
            log.append(("done", me(), producer))

        return Pass(producer)

    def mono(self, producer: Any) -> Any:
        log = self.log

        @named(self._name("Mono"))
        async def Mono(total: int):
            log.append(("mono", me(), total))
            return total

        return Mono(producer)


def test_a_single_consumer_alternates_strictly_with_its_producer() -> None:
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.src = n.source(4)
        f.reader = n.reader(f.src)
    f.run_until_complete()
    src, reader = repr(f.src), repr(f.reader)
    assert log == [
        ("read", reader, src, 0),
        ("resume", src, 0),
        ("read", reader, src, 1),
        ("resume", src, 1),
        ("read", reader, src, 2),
        ("resume", src, 2),
        ("read", reader, src, 3),
        ("resume", src, 3),
        ("done", reader, src),
    ]
    assert f.reader.get_data() == ([0, 1, 2, 3],)


def test_fast_slow_and_mono_consumers_never_let_the_producer_run_ahead() -> None:
    """flowno 0.1.19 ran the producer to its end while the slow consumer was on chunk 0."""
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.src = n.source(6, (0.05,))
        f.fast = n.reader(f.src, (0.1,))
        f.slow = n.reader(f.src, (1.0,))
        f.mono = n.mono(f.src)
    f.run_until_complete()
    assert check_one_ahead(log) == 6
    src, fast, slow = repr(f.src), repr(f.fast), repr(f.slow)
    # the producer is resumed after chunk j only once the slow consumer has read chunk j
    for j in range(6):
        assert log.index(("resume", src, j)) > log.index(("read", slow, src, j))
    # and the slow consumer's pace sets the total time: 6 reads of 1 s each, after 0.05 s of production
    assert now(f) == pytest.approx(6 * 1.0 + 0.05)
    assert f.fast.get_data() == f.slow.get_data() == ([0, 1, 2, 3, 4, 5],)
    assert f.mono.get_data() == (15,)
    assert log.index(("mono", repr(f.mono), 15)) > log.index(("resume", src, 5))
    assert [e for e in log if e[0] == "read" and e[1] == fast] == [("read", fast, src, j) for j in range(6)]


def test_chunk_n_plus_1_is_produced_only_after_every_reader_has_read_chunk_n_from_chunk_0_on() -> None:
    """SPEC §0.2 D2: a consumer that reads its stream at once sees chunk n+1 produced only after it
    has read chunk n, from chunk 0 on; a level-0 consumer's pull does not override this."""
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.total = n.mono(f.src)  # a level-0 consumer, defined first, pulls the producer
        f.src = n.source(3)
        f.r1 = n.reader(f.src, (1.0,))
        f.r2 = n.reader(f.src, (2.0,))
    f.run_until_complete()
    src, r1, r2, total = repr(f.src), repr(f.r1), repr(f.r2), repr(f.total)
    assert [event for event in log if event[0] in ("read", "resume")] == [
        ("read", r1, src, 0),
        ("read", r2, src, 0),
        ("resume", src, 0),
        ("read", r1, src, 1),
        ("read", r2, src, 1),
        ("resume", src, 1),
        ("read", r1, src, 2),
        ("read", r2, src, 2),
        ("resume", src, 2),
    ]
    assert log.index(("mono", total, 3)) > log.index(("resume", src, 2))
    assert now(f) == 6
    assert f.src.generation == (0,)


def test_an_acyclic_flow_with_a_pulling_level_0_consumer_runs_the_source_once() -> None:
    """SPEC §6.1 item 5: the first run of an acyclic graph evaluates every node exactly once.

    Total (level 0, defined first) pulls Source; Reader has a second input (a Constant), so it is
    started only after Source published a chunk or two. Source must run one lap; instead it runs
    lap after lap (the limit below stops what is otherwise an endless run)."""
    laps: list[int] = []
    evaluations: list[str] = []

    @node
    async def Source():
        laps.append(len(laps))
        for j in range(3):
            yield j

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int], delay: float):
        evaluations.append("reader")
        async for _ in xs:
            await sleep(delay)

    @node
    async def Total(total: int):
        evaluations.append("total")
        return total

    with vflow(grace=0.01) as f:
        f.total = Total(f.src)
        f.src = Source()
        f.reader = Reader(f.src, 1.0)
    f.run_until_complete(stop_at_node_generation={f.src: (3,)})
    assert laps == [0]
    assert sorted(evaluations) == ["reader", "total"]
    assert f.src.generation == (0,)


def test_a_reader_that_becomes_active_right_after_a_chunk_holds_the_producer() -> None:
    """Source publishes chunk 3 at t=4 with demand from a level-0 consumer and no active reader; in
    that same instant Late starts reading (chunk 0) and so is active. SPEC §0.2 D2: the generator
    must not be resumed until Late has read chunk 3 (at t=34); it is resumed at once and chunk 4
    comes out at t=5 while Late has read only chunk 0."""
    log: list[tuple[Any, ...]] = []

    @node
    async def Source():
        for j in range(6):
            await sleep(1)
            yield j
            log.append(("resume", j, now(f)))

    @node(stream_in=["xs"])
    async def Late(xs: Stream[int]):
        await sleep(2.5)
        await sleep(0.5)  # wakes at t=4, after Source's own timer for chunk 3
        async for x in xs:
            log.append(("late", x, now(f)))
            await sleep(10)

    @node
    async def Total(total: int):
        return total

    with vflow() as f:
        f.src = Source()
        f.late = Late(f.src)
        f.total = Total(f.src)
    f.run_until_complete()
    assert log.index(("late", 0, 4.0)) < log.index(("late", 3, 34.0)) < log.index(("resume", 3, 34.0))


SPEEDS = [
    ((0.0,), (0.0,), (0.0,)),
    ((1.0,), (0.1,), (0.5,)),
    ((0.1,), (1.0,), (0.0,)),
    ((0.0,), (0.3, 0.0, 2.0), (1.0, 0.0)),
    ((0.5, 0.0), (0.0,), (0.0, 3.0)),
]


@pytest.mark.parametrize(("producer", "first", "second"), SPEEDS)
def test_two_readers_and_a_mono_consumer_at_various_speeds(
    producer: tuple[float, ...], first: tuple[float, ...], second: tuple[float, ...]
) -> None:
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.src = n.source(8, producer)
        f.a = n.reader(f.src, first)
        f.b = n.reader(f.src, second)
        f.mono = n.mono(f.src)
    f.run_until_complete()
    assert check_one_ahead(log) == 8
    assert f.a.get_data() == f.b.get_data() == (list(range(8)),)
    assert f.mono.get_data() == (28,)


def test_a_chain_of_pass_throughs_is_paced_edge_by_edge() -> None:
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.src = n.source(6, (0.2,))
        f.p1 = n.passthrough(f.src, (0.0, 1.0))
        f.p2 = n.passthrough(f.p1, (0.5,))
        f.p3 = n.passthrough(f.p2)
        f.sink = n.reader(f.p3, (2.0, 0.0, 0.1))
        f.side = n.reader(f.p1, (0.3,))
    f.run_until_complete()
    assert check_one_ahead(log) == 6 * 4
    assert f.sink.get_data() == (list(range(6)),)
    assert f.side.get_data() == (list(range(6)),)
    assert f.p3.get_data() == (15,)


def test_pacing_holds_in_every_lap_of_a_streaming_cycle() -> None:
    log: Log = []

    @node
    async def Producer(seed: int = 0):
        log.append(("lap", me()))
        for j in range(4):
            await sleep(0.25)
            yield seed + j
            log.append(("resume", me(), j))

    def reader(delays: tuple[float, ...]) -> Any:
        @named(f"Reader{len(delays)}", stream_in=["xs"])
        async def Reader(xs: Stream[int]):
            producer = repr(xs.output.node)
            got = []
            async for x in xs:
                log.append(("read", me(), producer, len(got)))
                got.append(x)
                await sleep(delays[len(got) % len(delays)])
            log.append(("done", me(), producer))
            return got

        return Reader

    @node
    async def Back(a: list[int], b: list[int]):
        assert a == b
        return a[-1] + 1

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.back)
        f.slow = reader((1.0, 0.0, 2.0))(f.producer)
        f.fast = reader((0.1,))(f.producer)
        f.back = Back(f.slow, f.fast)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.back: (2,)})
    assert f.back.get_data() == (12,)
    assert check_one_ahead(log) >= 3 * 3


def test_the_invariant_checker_catches_a_producer_running_ahead() -> None:
    """The checker the tests above rely on fails on a violating log and accepts a valid one."""
    ok: Log = [("read", "C", "P", 0), ("resume", "P", 0), ("read", "C", "P", 1), ("resume", "P", 1), ("done", "C", "P")]
    assert check_one_ahead(ok) == 2
    ahead: Log = [("read", "C", "P", 0), ("resume", "P", 0), ("resume", "P", 1), ("read", "C", "P", 1)]
    with pytest.raises(AssertionError, match="resumed after its chunk 1"):
        check_one_ahead(ahead)
    inactive: Log = [("resume", "P", 0), ("resume", "P", 1), ("read", "C", "P", 0)]
    assert check_one_ahead(inactive) == 2  # a reader that has not started does not hold P back
    skipped: Log = [("read", "C", "P", 0), ("read", "C", "P", 2)]
    with pytest.raises(AssertionError, match="read chunk 2"):
        check_one_ahead(skipped)
    lap_end: Log = [("read", "C", "P", 0), ("resume", "P", 0), ("read", "D", "P", 0), ("resume", "P", 1)]
    with pytest.raises(AssertionError):
        check_one_ahead(lap_end)
    assert check_one_ahead(lap_end, lap_end_exempt=True) == 1
    new_lap: Log = [("read", "C", "P", 0), ("done", "C", "P"), ("lap", "P"), ("read", "C", "P", 0), ("resume", "P", 0)]
    assert check_one_ahead(new_lap) == 1


def test_a_connection_not_read_yet_keeps_its_chunks_and_does_not_hold_the_producer() -> None:
    """A join that drains input a before it starts on b, both fed by one producer: b's chunks are
    retained while a is drained; the producer is paced by a alone until b starts (D2, §0.2)."""
    log: Log = []
    retained: list[int] = []

    @node
    async def Source():
        for j in range(5):
            yield j
            log.append(("resume", me(), j))

    @node(stream_in=["a", "b"])
    async def Join(a: Stream[int], b: Stream[int]):
        producer = repr(a.output.node)
        out = []
        ia = a.__aiter__()
        while True:
            try:
                x = await ia.__anext__()
            except StopAsyncIteration:
                break
            log.append(("read", me() + ".a", producer, x))
            retained.append(len(f.src._runtime.chunks))
            out.append(x)
        log.append(("done", me() + ".a", producer))
        async for x in b:
            log.append(("read", me() + ".b", producer, x))
            retained.append(len(f.src._runtime.chunks))
            out.append(x)
        log.append(("done", me() + ".b", producer))
        return out

    with vflow(grace=0.01) as f:
        f.src = Source()
        f.join = Join(f.src, f.src)
    f.run_until_complete()
    assert f.join.get_data() == ([0, 1, 2, 3, 4, 0, 1, 2, 3, 4],)
    check_one_ahead(log)
    # while a is drained, every chunk stays retained for b; b then releases them one by one
    assert retained == [1, 2, 3, 4, 5, 4, 3, 2, 1, 0]


def test_a_reader_that_starts_late_catches_up_from_the_retained_chunks() -> None:
    log: Log = []
    n = Nodes(log)
    with vflow() as f:
        f.src = n.source(6)
        f.eager = n.reader(f.src, (1.0,))
        f.late = n.reader(f.src, (), 3.5)
    f.run_until_complete()
    check_one_ahead(log)
    assert f.late.get_data() == (list(range(6)),)
    late, src = repr(f.late), repr(f.src)
    # the late reader read chunks 0..3 at t=3.5 from the retained chunks: chunk 4 came only after
    first_late = log.index(("read", late, src, 0))
    assert ("resume", src, 3) in log[first_late:]
    assert ("resume", src, 2) in log[:first_late]


def test_no_lost_wake_up_when_a_fast_reader_stalls_while_the_producer_is_busy() -> None:
    """flowno dropped a stall that arrived while the producer was executing (§3.4): the fast reader
    stalls during the producer's sleep; it must still be woken with the next chunk."""
    log: Log = []
    n = Nodes(log)
    with vflow(grace=0.01) as f:
        f.src = n.source(10, (1.0,))
        f.fast = n.reader(f.src)
        f.slow = n.reader(f.src, (0.0, 2.5))
        f.mono = n.mono(f.src)
    f.run_until_complete()
    assert check_one_ahead(log) == 10
    assert f.fast.get_data() == f.slow.get_data() == (list(range(10)),)
    assert f.mono.get_data() == (45,)


@settings(
    max_examples=200, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    count=st.integers(min_value=0, max_value=8),
    producer=st.lists(st.sampled_from([0.0, 0.1, 1.0]), min_size=1, max_size=3),
    readers=st.lists(
        st.tuples(
            st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.0]), min_size=1, max_size=4),
            st.sampled_from([0.0, 0.5, 4.0]),
        ),
        min_size=1,
        max_size=4,
    ),
    monos=st.integers(min_value=0, max_value=2),
)
def test_random_reader_speeds_keep_the_one_chunk_ahead_invariant(
    count: int, producer: list[float], readers: list[tuple[list[float], float]], monos: int
) -> None:
    log: Log = []
    n = Nodes(log)
    with vflow(grace=0.01) as f:
        f.src = n.source(count, tuple(producer))
        for index, (delays, start) in enumerate(readers):
            setattr(f, f"reader{index}", n.reader(f.src, tuple(delays), start))
        for index in range(monos if count else 0):  # an empty lap has no final value to give them
            setattr(f, f"mono{index}", n.mono(f.src))
    f.run_until_complete()
    check_one_ahead(log)
    for index in range(len(readers)):
        assert getattr(f, f"reader{index}").get_data() == (list(range(count)),)
    for index in range(monos if count else 0):
        assert getattr(f, f"mono{index}").get_data() == (sum(range(count)),)
    assert f.src.generation == (0,)
    assert len(f.src._runtime.chunks) == 0  # every chunk was released (D14)


# -- the binary-tree fork/join of SPEC §0.1 ----------------------------------------------------------


def build_tree(log: Log | None, depth: int, count: int, delays: dict[str, tuple[float, ...]] | None = None) -> Any:
    delays = delays or {}

    @node
    async def Source(count: int):
        for j in range(count):
            if delays.get("source"):
                await sleep(delays["source"][j % len(delays["source"])])
            yield j
            if log is not None:
                log.append(("resume", me(), j))

    @node(stream_in=["s"])
    async def Fork(s: Stream[int]):
        producer = repr(s.output.node)
        index = 0
        async for x in s:
            if log is not None:
                log.append(("read", me(), producer, index))
            if delays.get("fork"):
                await sleep(delays["fork"][index % len(delays["fork"])])
            yield x
            if log is not None:
                log.append(("resume", me(), index))
            index += 1
        if log is not None:
            log.append(("done", me(), producer))

    @node(stream_in=["a", "b"])
    async def Join(a: Stream[int], b: Stream[int]):
        index = 0
        for stream in (a, b):
            producer = repr(stream.output.node)
            read = 0
            iterator = stream.__aiter__()
            while True:
                try:
                    x = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                if log is not None:
                    log.append(("read", me(), producer, read))
                read += 1
                if delays.get("join"):
                    await sleep(delays["join"][index % len(delays["join"])])
                yield x
                if log is not None:
                    log.append(("resume", me(), index))
                index += 1
            if log is not None:
                log.append(("done", me(), producer))

    @node
    async def Total(total: int = -1):
        return total

    with vflow(grace=0.01) as f:
        f.source = Source(count)
        level = [f.source]
        for _ in range(depth):
            level = [Fork(parent) for parent in level for _ in range(2)]
        while len(level) > 1:
            level = [Join(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        f.root = level[0]
        f.total = Total(f.root)
    return f


BUG_LATE_ACTIVATION = (
    "BUG: a producer whose resumption was decided while a reader was still inactive is resumed even if "
    "that reader has become active (and is behind) by the time the generator actually runs"
)
BUG_LOST_DEMAND = (
    "BUG: a pass-through that is busy (sleeping) when its producer publishes loses that wake-up; it then "
    "pauses with no demand while it still holds its producer back, and the flow deadlocks"
)


def test_the_spec_fork_join_tree_completes_with_sum_160() -> None:
    """SPEC §0.1: source 0..4, four levels of forks (16 leaves), four levels of joins that drain
    a before b. flowno 0.1.19 deadlocks here."""
    log: Log = []
    f = build_tree(log, 4, 5)
    f.run_until_complete()
    assert f.total.get_data() == (160,)
    assert f.root.get_data() == (160,)
    assert check_one_ahead(log, lap_end_exempt=True) > 0


def test_the_spec_fork_join_tree_keeps_the_invariant_at_lap_ends_too() -> None:
    """A join starts reading b when a ends; b's producer, already told to go on (to finish its lap),
    must still wait until the join has caught up (SPEC §0.2 D2: produce = resume the generator)."""
    log: Log = []
    f = build_tree(log, 4, 5)
    f.run_until_complete()
    check_one_ahead(log)


BUG_INLINE_STEP = (
    "BUG (the late-activation race, mid-lap; shows since d1e76b3 changed the step order): a join's "
    "b-producer, resumed while the join was still draining a, runs after the join has become active on b "
    "at chunk 0 and publishes its chunk 2 before the join has read chunk 1 (two ahead, D2)"
)
TREE_SIZES = [
    pytest.param(depth, count, id=f"depth{depth}-count{count}", marks=marks)
    for depth in (1, 2, 3, 5)
    for count in (1, 2, 7)
    for marks in [[]]
]


@pytest.mark.parametrize(("depth", "count"), TREE_SIZES)
def test_fork_join_trees_of_other_sizes(depth: int, count: int) -> None:
    log: Log = []
    f = build_tree(log, depth, count)
    f.run_until_complete()
    assert f.total.get_data() == (2**depth * sum(range(count)),)
    check_one_ahead(log, lap_end_exempt=True)


@pytest.mark.parametrize(
    "delays",
    [
        {"source": (0.1,)},
        pytest.param({"fork": (0.0, 1.0)}),
        {"join": (0.5,)},
        {"source": (1.0, 0.0), "fork": (0.2,), "join": (0.0, 0.0, 2.0)},
    ],
    ids=["slow-source", "slow-forks", "slow-joins", "mixed"],
)
def test_fork_join_tree_with_sleeps(delays: dict[str, tuple[float, ...]]) -> None:
    log: Log = []
    f = build_tree(log, 3, 4, delays)
    f.run_until_complete()
    assert f.total.get_data() == (8 * 6,)
    assert check_one_ahead(log, lap_end_exempt=True) > 0


def test_a_diamond_with_a_sleeping_pass_through_on_the_b_side_completes() -> None:
    """Minimal form of the slow-forks tree: Source -> (Fast, Slow) -> Join(a=Fast, b=Slow), Join
    drains a before b, Slow sleeps before every second yield. SPEC D2: no lost wake-ups, the
    join completes; actual: DeadlockError (Fast waits for Source, which waits for Slow to read its
    chunk 2, while Slow is paused with nobody asking it for more)."""

    @node
    async def Source():
        for j in range(3):
            yield j

    @node(stream_in=["s"])
    async def Fast(s: Stream[int]):
        async for x in s:
            yield x

    @node(stream_in=["s"])
    async def Slow(s: Stream[int]):
        index = 0
        async for x in s:
            if index % 2:
                await sleep(1)
            index += 1
            yield x

    @node(stream_in=["a", "b"])
    async def Join(a: Stream[int], b: Stream[int]):
        out = [x async for x in a]
        out += [x async for x in b]
        return out

    with vflow(grace=0.01) as f:
        f.source = Source()
        f.fast = Fast(f.source)
        f.slow = Slow(f.source)
        f.join = Join(f.fast, f.slow)
    f.run_until_complete()
    assert f.join.get_data() == ([0, 1, 2, 0, 1, 2],)


@settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    depth=st.integers(min_value=1, max_value=3),
    count=st.integers(min_value=1, max_value=5),
    delays=st.fixed_dictionaries(
        {},
        optional={
            kind: st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=1, max_size=3).map(tuple)
            for kind in ("source", "fork", "join")
        },
    ),
)
def test_random_fork_join_trees_with_sleeps_complete(
    depth: int, count: int, delays: dict[str, tuple[float, ...]]
) -> None:
    log: Log = []
    f = build_tree(log, depth, count, delays)
    f.run_until_complete()
    assert f.total.get_data() == (2**depth * sum(range(count)),)
    check_one_ahead(log, lap_end_exempt=True)
