"""@node(priority="high"|"normal"|"low") orders the nodes runnable at the same time, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_core import FlowHDL, Stream, TerminateLimitReached, VirtualClock, node
from flowno_core.errors import NodeConfigurationError

RANK = {"high": 0, "normal": 1, "low": 2}


@node
async def Source() -> int:
    return 1


def recorder(name: str, priority: str, order: list[str]) -> Any:
    @node(priority=priority)
    async def Record(x: int) -> int:
        order.append(name)
        return x + 1

    return Record


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(RANK)), min_size=1, max_size=8))
def test_consumers_ready_together_run_by_priority_then_in_their_order(priorities):
    order: list[str] = []
    names = [f"c{i}" for i in range(len(priorities))]
    with FlowHDL(clock=VirtualClock()) as f:
        f.source = Source()
        for name, priority in zip(names, priorities):
            setattr(f, name, recorder(name, priority, order)(f.source))
    f.run_until_complete()
    expected = sorted(names, key=lambda name: RANK[priorities[names.index(name)]])  # (a stable sort)
    assert order == expected
    assert all(getattr(f, name).get_data() == (2,) for name in names)  # values do not depend on the order


def test_priority_does_not_change_what_a_cycle_with_a_stream_computes():
    def build(priority: str) -> FlowHDL:
        @node(priority=priority)
        async def Count(x: int = 0) -> int:
            return x + 1

        @node
        async def Chunks(n: int):
            for i in range(n % 4 + 1):
                yield i

        @node(stream_in=["xs"], priority=priority)
        async def Total(xs: Stream[int]) -> int:
            total = 0
            async for x in xs:
                total += x
            return total

        with FlowHDL(clock=VirtualClock()) as f:
            f.count = Count(f.count)
            f.chunks = Chunks(f.count)
            f.total = Total(f.chunks)
        return f

    results = []
    for priority in ("high", "normal", "low"):
        f = build(priority)
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(stop_at_node_generation={f.count: (12,)})
        results.append((f.count.get_data(), f.total.get_data(), f.total.generation))
    assert results[0] == results[1] == results[2]


def test_a_low_priority_node_still_runs_when_it_is_the_only_one():
    order: list[str] = []
    with FlowHDL(clock=VirtualClock()) as f:
        f.source = Source()
        f.low = recorder("low", "low", order)(f.source)
        f.after = recorder("after", "normal", order)(f.low)
    f.run_until_complete()
    assert order == ["low", "after"] and f.after.get_data() == (3,)


@pytest.mark.parametrize("bad", ["urgent", 1, None, "HIGH"])
def test_an_unknown_priority_is_refused_where_it_is_written(bad):
    with pytest.raises(NodeConfigurationError, match="priority"):

        @node(priority=bad)
        async def Anything(x: int) -> int:
            return x
