"""flow.watch(node) (issue 14): a node's chunks and values as they are produced, from plain code and
from async code (asyncio's loop and flowno_core's), with a clean stop when the consumer leaves."""

from __future__ import annotations

import asyncio

import pytest

from flowno_core import EventLoop, FlowHDL, Stream, node, sleep

pytestmark = pytest.mark.usefixtures("real_clock")  # the flow runs on a thread beside the consumer


def token_flow(words: int, closed: list[str] | None = None, pause: float = 0.001) -> FlowHDL:
    @node
    async def Tokens(n: int):
        try:
            for i in range(n):
                await sleep(pause)
                yield f"t{i} "
        finally:
            if closed is not None:
                closed.append("tokens")

    @node(stream_in=["tokens"])
    async def Upper(tokens: Stream[str]):
        async for token in tokens:
            yield token.upper()

    with FlowHDL() as f:
        f.tokens = Tokens(words)
        f.upper = Upper(f.tokens)
    return f


def test_a_streaming_node_is_watched_chunk_by_chunk_then_its_final_value():
    f = token_flow(4)
    watch = f.watch(f.upper)
    items = list(watch)
    assert [item.value for item in items] == ["T0 ", "T1 ", "T2 ", "T3 ", "T0 T1 T2 T3 "]
    assert [item.is_chunk for item in items] == [True, True, True, True, False]
    assert [item.generation for item in items] == [(0, 0), (0, 1), (0, 2), (0, 3), (0,)]
    assert watch.report.outcome == "completed"
    assert f.upper.get_data() == ("T0 T1 T2 T3 ",)


def test_breaking_out_cancels_the_flow_and_runs_its_finally_blocks():
    closed: list[str] = []
    f = token_flow(10_000, closed)
    seen = []
    for item in f.watch(f.upper):
        seen.append(item.value)
        if len(seen) == 3:
            break
    assert seen == ["T0 ", "T1 ", "T2 "]
    assert closed == ["tokens"]  # the generator's clean-up ran
    assert not f.cancel()  # the run is over


def test_a_value_node_in_a_cycle_is_watched_until_its_limit():
    @node
    async def Count(x: int = 0) -> int:
        return x + 1

    with FlowHDL() as f:
        f.count = Count(f.count)
    values = [item.value for item in f.watch(f.count, stop_at_node_generation={f.count: (4,)})]
    assert values == [1, 2, 3, 4, 5]  # a reached limit just ends the iteration


def test_the_runs_error_is_raised_after_the_items_before_it():
    @node
    async def Fails(x: int = 0) -> int:
        if x == 2:
            raise ValueError("at two")
        return x + 1

    with FlowHDL() as f:
        f.fails = Fails(f.fails)
    seen = []
    with pytest.raises(ValueError, match="at two"):
        for item in f.watch(f.fails):
            seen.append(item.value)
    assert seen == [1, 2]


def test_watched_from_asyncio():
    f = token_flow(3)

    async def main() -> list[str]:
        return [item.value async for item in f.watch(f.tokens) if item.is_chunk]

    assert asyncio.run(main()) == ["t0 ", "t1 ", "t2 "]


def test_watched_from_a_flowno_core_task():
    f = token_flow(3)

    async def main() -> list[str]:
        return [item.value async for item in f.watch(f.tokens) if not item.is_chunk]

    assert EventLoop().run_until_complete(main(), join=True) == ["t0 t1 t2 "]


def test_a_slow_consumer_holds_the_flow_back_instead_of_buffering_everything():
    import time

    from flowno_core._graph.runtime import watching

    f = token_flow(watching.BUFFER * 4, pause=0)
    produced_when_first_read = None
    for index, item in enumerate(f.watch(f.tokens)):
        if index == 0:
            time.sleep(0.3)  # let the flow run ahead as far as it can
            produced_when_first_read = f.tokens._data.gen
        if index > 5:
            break
    assert produced_when_first_read is not None
    assert produced_when_first_read[1] <= watching.BUFFER + 2  # it waited for the consumer


def test_watch_refuses_a_node_of_another_flow():
    f = token_flow(1)
    g = token_flow(1)
    with pytest.raises(ValueError, match="not a node of this flow"):
        f.watch(g.tokens)
