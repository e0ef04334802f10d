"""A run cancelled at any moment and then continued computes what one straight run computes; the
same holds when the continuation is a new flow resuming from the cancelled run's checkpoint.

One documented exception (docs/design.md, "Laps cut short by a stop"): a stream reader cut in the
middle of a lap whose chunks are gone (D14) cannot read them again. When the cancel cut a reader
(its evaluation is ``cancelled`` in the run report), the continued run must still finish at its
limit without an error, but its values may differ. A streaming node's generation also moves one
lap on when its own lap is cut (SPEC §0.2), so generations are compared for value nodes only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_core import FlowCancelled, FlowHDL, MemoryStore, Stream, TerminateLimitReached, VirtualClock, node, sleep

LIMIT = 6


def build() -> FlowHDL:
    @node
    async def Tick(x: int = 0) -> int:
        await sleep(0.3)
        return x + 1

    @node
    async def Burst(n: int):
        for i in range(n % 3 + 1):
            await sleep(0.2)
            yield n * 10 + i

    @node(stream_in=["xs"])
    async def Sum(xs: Stream[int], bias: int = 0) -> int:
        total = bias
        async for x in xs:
            await sleep(0.1)
            total += x
        return total

    with FlowHDL(clock=VirtualClock()) as f:
        f.tick = Tick(f.total)
        f.burst = Burst(f.tick)
        f.total = Sum(f.burst, f.tick)
    return f


def finish(f: FlowHDL, **options) -> None:
    try:
        f.run_until_complete(stop_at_node_generation={f.tick: (LIMIT,)}, **options)
    except TerminateLimitReached:
        pass


def values(f: FlowHDL) -> list:
    return [f.tick.get_data(), f.burst.get_data(), f.total.get_data(), f.tick.generation, f.total.generation]


def cut_a_reader(f: FlowHDL) -> bool:
    report = f.last_report
    assert report is not None
    return any(r.node is f.total and r.status == "cancelled" for r in report.evaluations)


def straight() -> list:
    f = build()
    finish(f)
    return values(f)


STRAIGHT = straight()


def cancel_after(f: FlowHDL, seconds: float) -> None:
    """Cancel the run after ``seconds`` of its loop's (virtual) time, wherever the nodes are."""

    async def canceller() -> None:
        await sleep(seconds)
        f.cancel("now")

    f.create_task(canceller())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=1, max_size=3))
def test_cancelled_any_number_of_times_then_continued_equals_a_straight_run(moments):
    f = build()
    lost = False
    for seconds in moments:
        cancel_after(f, seconds)
        try:
            finish(f)
        except FlowCancelled:
            lost = lost or cut_a_reader(f)
        else:
            break  # it reached its limit before the cancel
    else:
        finish(f)
    assert f.tick.generation == (LIMIT,) and f.last_report.ok
    if not lost:
        assert values(f) == STRAIGHT


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=0.0, max_value=3.0))
def test_a_new_flow_resuming_a_cancelled_runs_checkpoint_equals_a_straight_run(seconds):
    store = MemoryStore()
    first = build()
    cancel_after(first, seconds)
    lost = False
    try:
        finish(first, checkpoint=store)
    except FlowCancelled:
        lost = cut_a_reader(first)
    resumed = build()
    finish(resumed, checkpoint=store)
    assert resumed.tick.generation == (LIMIT,) and resumed.last_report.ok
    if not lost:
        assert values(resumed) == STRAIGHT
