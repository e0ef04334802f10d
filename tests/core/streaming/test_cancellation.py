"""Stream cancellation (SPEC §3.8, §3.7): ``await stream.cancel()``, StreamCancelled at the
producer's yield, the three producer responses, upstream propagation through pass-through nodes,
what the canceller, its siblings and level-0 consumers see, cancel after the end, and cancellation
inside a streaming cycle across laps. Timing-dependent scenarios run in virtual time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import Stream, StreamCancelled, TerminateLimitReached, current_node, node, sleep

from .helpers import now, vflow


def cancel_scenario(mode: str, with_sibling: bool) -> tuple[Any, list[Any]]:
    log: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(6):
                log.append(f"P{i}")
                yield i
        except StreamCancelled as error:
            log.append(("caught", error.stream is seen["stream"], str(error)))
            if mode == "reraise":
                raise
            if mode == "explicit":
                raise StopAsyncIteration(-1) from None
            yield 99
            log.append("after99")
            yield 100
            log.append("after100")
        finally:
            log.append("finally")

    seen: dict[str, Any] = {}

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        seen["stream"] = xs
        got = []
        async for x in xs:
            got.append(x)
            log.append(f"C{x}")
            if x == 1:
                await xs.cancel()
                log.append("cancelled")
        log.append("C.end")
        return got

    @node(stream_in=["xs"])
    async def Sibling(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            log.append(f"S{x}")
        log.append("S.end")
        return got

    @node
    async def Mono(x: int):
        log.append(f"M{x}")
        return x

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.canceller = Canceller(f.producer)
        if with_sibling:
            f.sibling = Sibling(f.producer)
        f.mono = Mono(f.producer)
    f.run_until_complete()
    return f, log


CAUGHT = ("caught", True, "Stream was cancelled by consumer")


def test_reraise_ends_the_stream_with_the_accumulation_so_far() -> None:
    f, log = cancel_scenario("reraise", with_sibling=False)
    assert log == ["P0", "C0", "P1", "C1", "cancelled", CAUGHT, "finally", "C.end", "M1"]
    assert f.producer.get_data() == (0 + 1,)
    assert f.producer.generation == (0,)
    assert f.canceller.get_data() == ([0, 1],)
    assert f.mono.get_data() == (1,)


def test_catch_and_raise_stop_async_iteration_gives_an_explicit_final_value() -> None:
    f, log = cancel_scenario("explicit", with_sibling=False)
    assert log == ["P0", "C0", "P1", "C1", "cancelled", CAUGHT, "finally", "C.end", "M-1"]
    assert f.producer.get_data() == (-1,)
    assert f.mono.get_data() == (-1,)


def test_catch_and_keep_yielding_counts_the_chunks_and_the_canceller_sees_no_more() -> None:
    f, log = cancel_scenario("keep", with_sibling=False)
    # the chunk returned by athrow is a normal chunk: 0 + 1 + 99 + 100
    assert f.producer.get_data() == (200,)
    assert f.mono.get_data() == (200,)
    # the canceller is not re-enqueued and reads nothing after its cancel
    assert f.canceller.get_data() == ([0, 1],)
    assert log == ["P0", "C0", "P1", "C1", "cancelled", CAUGHT, "after99", "after100", "finally", "C.end", "M200"]


@pytest.mark.parametrize(
    ("mode", "final", "sibling_after"),
    [
        ("reraise", 1, ["finally", "C.end", "S.end", "M1"]),
        ("explicit", -1, ["finally", "C.end", "S.end", "M-1"]),
        ("keep", 200, ["S99", "after99", "S100", "after100", "finally", "C.end", "S.end", "M200"]),
    ],
)
def test_a_sibling_consumer_sees_the_stream_end(mode: str, final: int, sibling_after: list[str]) -> None:
    f, log = cancel_scenario(mode, with_sibling=True)
    assert log == ["P0", "C0", "S0", "P1", "C1", "cancelled", "S1", CAUGHT, *sibling_after]
    assert f.producer.get_data() == (final,)
    assert f.canceller.get_data() == ([0, 1],)
    expected_sibling = [0, 1, 99, 100] if mode == "keep" else [0, 1]
    assert f.sibling.get_data() == (expected_sibling,)


def test_cancel_before_reading_anything() -> None:
    log: list[Any] = []

    @node
    async def Producer():
        for i in range(5):
            log.append(f"P{i}")
            yield i

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        await xs.cancel()
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.canceller = Canceller(f.producer)
    f.run_until_complete()
    assert f.canceller.get_data() == ([],)
    assert log == ["P0"]
    assert f.producer.get_data() == (0,)


def test_the_canceller_that_keeps_iterating_gets_stop_async_iteration_once_the_producer_finished() -> None:
    events: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(10):
                await sleep(1)
                yield i
        except StreamCancelled:
            await sleep(5)  # clean-up takes a while
            events.append(("producer-done", now(f)))
            raise

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        iterator = xs.__aiter__()
        first = await iterator.__anext__()
        await xs.cancel()
        events.append(("cancel-returned", now(f)))
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        events.append(("stop", now(f)))
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        return first

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.canceller = Canceller(f.producer)
    f.run_until_complete()
    assert events == [("cancel-returned", 1.0), ("producer-done", 6.0), ("stop", 6.0)]
    assert f.canceller.get_data() == (0,)
    assert f.producer.get_data() == (0,)


def test_a_second_cancel_and_a_cancel_after_the_end_are_no_ops() -> None:
    caught: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(3):
                yield i
        except StreamCancelled:
            caught.append("cancelled")
            raise

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = [x async for x in xs]  # ends with the cancel of TwiceCancel
        await xs.cancel()  # after the end: nothing happens
        with pytest.raises(StopAsyncIteration):
            await xs.__anext__()
        return got

    @node(stream_in=["xs"])
    async def TwiceCancel(xs: Stream[int]):
        got = [await xs.__anext__()]
        await xs.cancel()
        await xs.cancel()  # already cancelled: nothing happens
        return got

    @node
    async def Mono(total: int):
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.reader = Reader(f.producer)
        f.twice = TwiceCancel(f.producer)
        f.mono = Mono(f.producer)
    f.run_until_complete()
    assert caught == ["cancelled"]  # thrown in once
    assert f.twice.get_data() == ([0],)
    # the reader saw the chunks produced before the cancel took effect, then the end
    assert f.reader.get_data()[0] in ([0], [0, 1])
    assert f.mono.get_data() == (sum(f.reader.get_data()[0]),)


def test_cancel_after_the_end_of_the_whole_stream_is_a_no_op() -> None:
    caught: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(3):
                yield i
        except StreamCancelled:  # pragma: no cover - must not happen
            caught.append("cancelled")
            raise

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = [x async for x in xs]
        await sleep(1)
        await xs.cancel()
        return got

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.reader = Reader(f.producer)
    f.run_until_complete()
    assert caught == []
    assert f.reader.get_data() == ([0, 1, 2],)
    assert f.producer.get_data() == (3,)


def test_stream_cancelled_is_thrown_at_the_producer_s_suspended_yield() -> None:
    where: list[Any] = []

    @node
    async def Producer():
        for i in range(5):
            try:
                yield i
            except StreamCancelled as error:
                where.append((i, type(error).__name__, error.stream.output.node is f.producer))
                raise

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        async for x in xs:
            if x == 2:
                await xs.cancel()

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.reader = Reader(f.producer)
    f.run_until_complete()
    assert where == [(2, "StreamCancelled", True)]


def test_cancel_while_the_producer_is_busy_takes_effect_at_its_next_yield() -> None:
    """Two consumers cancel at t=1.5 while the producer sleeps before chunk 1: chunk 1 is still
    published (the sibling reads it), then StreamCancelled is thrown in once, carrying the first
    cancelled stream."""
    log: list[Any] = []

    @node
    async def Producer():
        try:
            for i in range(6):
                await sleep(1)
                log.append(("produce", i, now(f)))
                yield i
        except StreamCancelled as error:
            log.append(("cancelled", error.stream.input.node is f.first, now(f)))
            raise

    @node(stream_in=["xs"])
    async def Sibling(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            log.append(("sibling", x, now(f)))
        return got

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        async for _ in xs:
            await sleep(0.5)
            await xs.cancel()
            log.append(("cancel", repr(current_node()), now(f)))

    @node
    async def Total(total: int):
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.sibling = Sibling(f.producer)
        f.first = Canceller(f.producer)
        f.second = Canceller(f.producer)
        f.total = Total(f.producer)
    f.run_until_complete()
    assert log == [
        ("produce", 0, 1.0),
        ("sibling", 0, 1.0),
        ("cancel", repr(f.first), 1.5),
        ("cancel", repr(f.second), 1.5),
        ("produce", 1, 2.0),
        ("sibling", 1, 2.0),
        ("cancelled", True, 2.0),
    ]
    assert f.sibling.get_data() == ([0, 1],)
    assert f.total.get_data() == (1,)


# -- propagation ------------------------------------------------------------------------------------


def test_cancellation_propagates_upstream_through_a_chain_of_three_pass_throughs() -> None:
    log: list[Any] = []

    @node
    async def Source():
        try:
            for i in range(100):
                log.append(f"src{i}")
                yield i
        except StreamCancelled:
            log.append("src-cancelled")
            raise
        finally:
            log.append("src-finally")

    @node(stream_in=["s"])
    async def Pass(s: Stream[int]):
        try:
            async for x in s:
                yield x
        except StreamCancelled:
            log.append(f"{current_node()!r}-cancelled")
            raise

    @node(stream_in=["s"])
    async def Canceller(s: Stream[int]):
        got = []
        async for x in s:
            got.append(x)
            if x == 2:
                await s.cancel()
        return got

    @node
    async def Final(value: int):
        return value

    with vflow(grace=0.01) as f:
        f.src = Source()
        f.p1 = Pass(f.src)
        f.p2 = Pass(f.p1)
        f.p3 = Pass(f.p2)
        f.canceller = Canceller(f.p3)
        f.final_src = Final(f.src)
        f.final_p3 = Final(f.p3)
    f.run_until_complete()
    assert f.canceller.get_data() == ([0, 1, 2],)
    cancelled = [entry for entry in log if entry.endswith("-cancelled")]
    assert cancelled == [f"{f.p3!r}-cancelled", f"{f.p2!r}-cancelled", f"{f.p1!r}-cancelled", "src-cancelled"]
    assert log[-1] == "src-finally"
    produced = [entry for entry in log if entry.startswith("src") and entry[3:].isdigit()]
    # D2: the source is at most a few chunks ahead of the canceller when the cancel takes effect
    assert len(produced) <= 2 + 4
    # every node published a final value: the accumulation of what it yielded
    assert f.p3.get_data() == (0 + 1 + 2,)
    assert f.final_p3.get_data() == (3,)
    assert f.final_src.get_data() == f.src.get_data() == (sum(range(len(produced))),)
    for name in ("src", "p1", "p2", "p3"):
        assert getattr(f, name).generation == (0,)


def test_propagation_cancels_every_streaming_input_of_the_pass_through() -> None:
    log: list[str] = []

    @node
    async def Source(base: int):
        try:
            for j in range(50):
                yield base + j
        except StreamCancelled:
            log.append(f"{current_node()!r}-cancelled")
            raise

    @node(stream_in=["a", "b"])
    async def Interleave(a: Stream[int], b: Stream[int]):
        ia, ib = a.__aiter__(), b.__aiter__()
        while True:
            yield await ia.__anext__()
            yield await ib.__anext__()

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 5:
                await xs.cancel()
        return got

    with vflow(grace=0.01) as f:
        f.a = Source(0)
        f.b = Source(100)
        f.interleave = Interleave(f.a, f.b)
        f.canceller = Canceller(f.interleave)
    f.run_until_complete()
    assert f.canceller.get_data() == ([0, 100, 1, 101, 2],)
    assert sorted(log) == sorted([f"{f.a!r}-cancelled", f"{f.b!r}-cancelled"])
    assert f.a.generation == f.b.generation == f.interleave.generation == (0,)


def test_a_pass_through_may_cancel_its_input_by_hand() -> None:
    log: list[Any] = []

    @node
    async def Source():
        try:
            for i in range(50):
                yield i
        except StreamCancelled:
            log.append("source-cancelled")
            raise

    @node(stream_in=["s"])
    async def Guard(s: Stream[int]):
        try:
            async for x in s:
                yield x
        except StreamCancelled:
            await s.cancel()
            log.append("guard-cancelled-its-input")
            raise StopAsyncIteration("stopped") from None

    @node(stream_in=["s"])
    async def Canceller(s: Stream[int]):
        async for x in s:
            if x == 1:
                await s.cancel()

    with vflow(grace=0.01) as f:
        f.source = Source()
        f.guard = Guard(f.source)
        f.canceller = Canceller(f.guard)
    f.run_until_complete()
    assert log == ["guard-cancelled-its-input", "source-cancelled"]
    assert f.guard.get_data() == ("stopped",)


def test_propagation_reaches_a_shared_upstream_and_ends_it_for_the_other_branch_too() -> None:
    """A pass-through cancelled by its consumer cancels its own input; that ends the shared
    source's stream for its other consumer as well (cancellation ends the stream for everyone)."""
    log: list[Any] = []

    @node
    async def Source():
        for i in range(20):
            await sleep(1)
            yield i

    @node(stream_in=["s"])
    async def Pass(s: Stream[int]):
        async for x in s:
            yield x

    @node(stream_in=["s"])
    async def Canceller(s: Stream[int]):
        async for x in s:
            if x == 3:
                await s.cancel()
                log.append(("cancel", now(f)))

    @node(stream_in=["s"])
    async def Other(s: Stream[int]):
        got = [x async for x in s]
        log.append(("other-end", now(f)))
        return got

    with vflow(grace=0.01) as f:
        f.source = Source()
        f.passed = Pass(f.source)
        f.canceller = Canceller(f.passed)
        f.other = Other(f.source)
    f.run_until_complete()
    other = f.other.get_data()[0]
    assert other == list(range(len(other)))
    assert 4 <= len(other) <= 6
    assert log[0] == ("cancel", 4.0)
    assert f.source.generation == (0,)


# -- timing: two consumers, one cancels --------------------------------------------------------------


def test_a_slow_sibling_reads_every_chunk_produced_before_the_cancel_took_effect() -> None:
    log: list[Any] = []

    @node
    async def Producer():
        for i in range(10):
            await sleep(0.5)
            log.append(("produce", i, now(f)))
            yield i

    @node(stream_in=["xs"])
    async def FastCanceller(xs: Stream[int]):
        async for x in xs:
            log.append(("fast", x, now(f)))
            if x == 2:
                await xs.cancel()
                log.append(("cancel", now(f)))

    @node(stream_in=["xs"])
    async def SlowSibling(xs: Stream[int]):
        got = []
        async for x in xs:
            log.append(("slow", x, now(f)))
            got.append(x)
            await sleep(3)
        log.append(("slow-end", now(f)))
        return got

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.fast = FastCanceller(f.producer)
        f.slow = SlowSibling(f.producer)
    f.run_until_complete()
    assert f.slow.get_data() == ([0, 1, 2],)
    assert log == [
        ("produce", 0, 0.5),
        ("fast", 0, 0.5),
        ("slow", 0, 0.5),
        ("produce", 1, 1.0),  # both have read chunk 0
        ("fast", 1, 1.0),
        ("slow", 1, 3.5),  # the slow sibling holds chunk 2 back until it has read chunk 1
        ("produce", 2, 4.0),
        ("fast", 2, 4.0),
        ("cancel", 4.0),
        ("slow", 2, 6.5),  # the last chunk produced before the cancel took effect
        ("slow-end", 9.5),  # then the stream ends for the sibling too
    ]
    assert f.producer.get_data() == (3,)


# -- cancellation inside a streaming cycle -----------------------------------------------------------


def test_cancel_inside_a_streaming_cycle_is_cleared_at_the_next_lap() -> None:
    """Each lap the consumer reads two chunks and cancels; the next lap must deliver its chunks
    again from chunk 0 (the cancelled mark is per lap, SPEC §3.7)."""
    log: list[Any] = []

    @node
    async def Producer(lap: int = 0):
        try:
            for j in range(5):
                await sleep(1)
                yield lap * 10 + j
        except StreamCancelled:
            log.append(("cancelled", lap, now(f)))
            raise

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 2:
                await xs.cancel()
        log.append(("read", got))
        return got[0] // 10 + 1

    with vflow(grace=0.01) as f:
        f.producer = Producer(f.reader)
        f.reader = Reader(f.producer)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.reader: (3,)})
    assert log == [
        ("cancelled", 0, 2.0),
        ("read", [0, 1]),
        ("cancelled", 1, 4.0),
        ("read", [10, 11]),
        ("cancelled", 2, 6.0),
        ("read", [20, 21]),
        ("cancelled", 3, 8.0),
        ("read", [30, 31]),
    ]
    assert f.producer.get_data() == (61,)


def test_a_cancel_in_one_lap_does_not_stop_a_sibling_in_the_next_lap() -> None:
    laps: list[Any] = []

    @node
    async def Tick(previous: Any = None):
        return 0 if previous is None else previous + 1

    @node
    async def Producer(lap: int):
        for j in range(4):
            await sleep(1)
            yield lap * 10 + j

    @node(stream_in=["xs"])
    async def CancelOnEvenLaps(xs: Stream[int], lap: int):
        got = []
        async for x in xs:
            got.append(x)
            if lap % 2 == 0 and len(got) == 1:
                await xs.cancel()
        return got

    @node(stream_in=["xs"])
    async def Sibling(xs: Stream[int]):
        got = [x async for x in xs]
        laps.append(got)
        return got

    @node
    async def Back(a: Any, b: Any, lap: int):
        return lap

    with vflow(grace=0.01) as f:
        f.tick = Tick(f.back)
        f.producer = Producer(f.tick)
        f.canceller = CancelOnEvenLaps(f.producer, f.tick)
        f.sibling = Sibling(f.producer)
        f.back = Back(f.canceller, f.sibling, f.tick)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.tick: (4,)})
    assert len(laps) == 4
    assert laps[1] == [10, 11, 12, 13]
    assert laps[3] == [30, 31, 32, 33]
    assert laps[0][0] == 0 and len(laps[0]) <= 2
    assert laps[2][0] == 20 and len(laps[2]) <= 2


def test_cancelled_consumer_is_not_enqueued_again_for_the_same_lap() -> None:
    runs: list[int] = []

    @node
    async def Producer():
        try:
            for i in range(6):
                await sleep(1)
                yield i
        except StreamCancelled:
            for extra in (100, 101, 102):  # keep yielding after the cancel
                yield extra

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        runs.append(1)
        async for _ in xs:
            await xs.cancel()

    @node
    async def Total(total: int):
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.canceller = Canceller(f.producer)
        f.total = Total(f.producer)
    f.run_until_complete()
    assert runs == [1]
    assert f.total.get_data() == (0 + 100 + 101 + 102,)


def test_a_producer_that_keeps_yielding_after_a_propagated_cancel_runs_to_its_natural_end() -> None:
    """SPEC §3.8: after catching StreamCancelled a producer may keep yielding, 'and the generator may
    run to its natural end'. Cancelled directly by its consumer it does; cancelled through a
    pass-through (automatic propagation) it stays at (0, 1) with no final value."""
    log: list[str] = []

    @node
    async def Producer():
        try:
            for j in range(5):
                yield j
        except StreamCancelled:
            log.append("cancelled")
            for extra in (100, 101):
                yield extra
            log.append("natural-end")

    @node(stream_in=["xs"])
    async def Pass(xs: Stream[int]):
        async for x in xs:
            yield x

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        async for _ in xs:
            await xs.cancel()

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.passed = Pass(f.producer)
        f.canceller = Canceller(f.passed)
    f.run_until_complete()
    assert log == ["cancelled", "natural-end"]
    assert f.producer.generation == (0,)
    assert f.producer.get_data() == (0 + 100 + 101,)


def test_a_producer_that_keeps_yielding_after_a_direct_cancel_runs_to_its_natural_end() -> None:
    log: list[str] = []

    @node
    async def Producer():
        try:
            for j in range(5):
                yield j
        except StreamCancelled:
            for extra in (100, 101):
                yield extra
            log.append("natural-end")

    @node(stream_in=["xs"])
    async def Canceller(xs: Stream[int]):
        async for _ in xs:
            await xs.cancel()

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.canceller = Canceller(f.producer)
    f.run_until_complete()
    assert log == ["natural-end"]
    assert f.producer.get_data() == (201,)


def test_a_late_reader_that_cancels_after_the_producer_finished_sees_the_end() -> None:
    """SPEC §3.8: 'If [the canceller] keeps iterating, it gets StopAsyncIteration once the producer has
    finished.' The producer has finished, so the cancel is a no-op for the producer (nothing is
    thrown in, the final value stays), but the canceller asked to stop receiving the stream."""

    @node
    async def Producer():
        for j in range(4):
            yield j

    @node(stream_in=["xs"])
    async def Eager(xs: Stream[int]):
        return [x async for x in xs]

    @node(stream_in=["xs"])
    async def Late(xs: Stream[int]):
        await sleep(1)  # the producer's lap is over by now; chunks 0..3 are retained for Late
        got = []
        async for x in xs:
            got.append(x)
            await xs.cancel()
        return got

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        f.eager = Eager(f.producer)
        f.late = Late(f.producer)
    f.run_until_complete()
    assert f.producer.get_data() == (6,)
    assert f.late.get_data() == ([0],)


@settings(
    max_examples=300, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    count=st.integers(min_value=1, max_value=8),
    producer_delays=st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=3),
    readers=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(min_value=0, max_value=8)),  # cancel after this many chunks
            st.lists(st.sampled_from([0.0, 0.3, 2.0]), min_size=1, max_size=3),
            st.sampled_from([0.0, 1.0, 3.0]),  # start delay
        ),
        min_size=1,
        max_size=3,
    ),
    mode=st.sampled_from(["reraise", "explicit", "keep"]),
    passes=st.integers(min_value=0, max_value=2),
    level_0_consumer=st.booleans(),
)
def test_random_cancellations(
    count: int,
    producer_delays: list[float],
    readers: list[tuple[int | None, list[float], float]],
    mode: str,
    passes: int,
    level_0_consumer: bool,
) -> None:
    """Readers (directly or through pass-throughs) cancel at random points. Each reader receives a
    prefix of what the producer yielded, a canceller receives nothing after its cancel (unless the
    producer had already finished), the producer ends its lap, and a level-0 consumer receives the
    final value the producer's response implies."""
    if mode == "keep" and passes:
        passes = 0  # see test_a_producer_that_keeps_yielding_after_a_propagated_cancel_runs_to_its_natural_end
    produced: list[int] = []
    cancelled: list[bool] = []
    results: dict[int, tuple[list[int], list[int], bool]] = {}

    @node
    async def Producer():
        try:
            for j in range(count):
                await sleep(producer_delays[j % len(producer_delays)])
                produced.append(j)
                yield j
        except StreamCancelled:
            cancelled.append(True)
            if mode == "reraise":
                raise
            if mode == "explicit":
                raise StopAsyncIteration(-1) from None
            produced.append(100)
            yield 100

    @node(stream_in=["xs"])
    async def Pass(xs: Stream[int]):
        async for x in xs:
            yield x

    def reader(index: int, cancel_at: int | None, delays: list[float], start: float) -> Any:
        @node(stream_in=["xs"])
        async def Reader(xs: Stream[int]):
            if start:
                await sleep(start)
            got: list[int] = []
            after: list[int] = []
            finished_before_cancel = False
            async for x in xs:
                if cancel_at is not None and len(got) > cancel_at:
                    after.append(x)
                    continue
                got.append(x)
                if cancel_at is not None and len(got) > cancel_at:
                    finished_before_cancel = len(f.producer.generation) == 1
                    await xs.cancel()
                await sleep(delays[len(got) % len(delays)])
            results[index] = (got, after, finished_before_cancel)
            return got

        return Reader

    @node
    async def Total(total: int):
        return total

    with vflow(grace=0.01) as f:
        f.producer = Producer()
        last = f.producer
        for _ in range(passes):
            last = Pass(last)
        for index, (cancel_at, delays, start) in enumerate(readers):
            setattr(f, f"reader{index}", reader(index, cancel_at, delays, start)(last))
        if level_0_consumer:
            f.total = Total(f.producer)
    f.run_until_complete()
    assert f.producer.generation == (0,)
    for got, after, finished_before_cancel in results.values():
        assert got + after == produced[: len(got) + len(after)]
        if after:
            assert finished_before_cancel  # see test_a_late_reader_that_cancels_after_the_producer_finished...
    expected_final = -1 if (cancelled and mode == "explicit") else sum(produced)
    assert f.producer.get_data() == (expected_final,)
    if level_0_consumer:
        assert f.total.get_data() == (expected_final,)
