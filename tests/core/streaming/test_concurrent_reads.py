"""Reading a stream other than straight from the evaluation: under a timeout that expires while the
read waits, and from helper tasks the node spawns while it publishes chunks itself (how stream
operators such as merge and batch-by-time are written)."""

from __future__ import annotations

from flowno_core import AsyncQueue, FlowHDL, Stream, move_on_after, node, sleep, spawn
from flowno_core import FlowInstrument

from .helpers import now, vflow


@node
async def Ticks(count: int, period: float, tag: str):
    for i in range(count):
        await sleep(period)
        yield f"{tag}{i}"


def test_a_read_cut_by_a_timeout_leaves_the_node_able_to_publish() -> None:
    @node(stream_in=["source"])
    async def TimedBatches(source: Stream[str], seconds: float):
        items = source.__aiter__()
        batch: list[str] = []
        ended = False
        while not ended:
            with move_on_after(seconds):
                try:
                    batch.append(await items.__anext__())
                    continue
                except StopAsyncIteration:
                    ended = True
            if batch:
                yield list(batch)  # published right after a read was cut while waiting
                batch.clear()

    @node(stream_in=["batches"])
    async def Log(batches: Stream[list[str]]) -> list[tuple[float, list[str]]]:
        return [(round(now(f), 6), batch) async for batch in batches]

    f = vflow()
    with f:
        f.ticks = Ticks(3, 1.0, "t")
        f.batches = TimedBatches(f.ticks, 0.4)
        f.log = Log(f.batches)
    f.run_until_complete()
    assert f.log.get_data() == ([(1.4, ["t0"]), (2.4, ["t1"]), (3.0, ["t2"])],)


def _merge_node():
    @node(stream_in=["a", "b"])
    async def Merge(a: Stream[str], b: Stream[str]):
        queue: AsyncQueue[str | None] = AsyncQueue()

        async def pump(stream: Stream[str]) -> None:
            async for item in stream:
                await queue.put(item)
            await queue.put(None)

        pumps = [await spawn(pump(a)), await spawn(pump(b))]
        ended = 0
        while ended < 2:
            item = await queue.get()
            if item is None:
                ended += 1
            else:
                yield item  # the node publishes while its helper tasks wait on the streams
        for pump_task in pumps:
            await pump_task.join()

    return Merge


def test_helper_tasks_read_streams_while_the_node_publishes() -> None:
    Merge = _merge_node()

    @node(stream_in=["items"])
    async def Log(items: Stream[str]) -> list[tuple[float, str]]:
        return [(round(now(f), 6), item) async for item in items]

    f = vflow()
    with f:
        f.a = Ticks(3, 1.0, "a")
        f.b = Ticks(4, 0.7, "b")
        f.merged = Merge(f.a, f.b)
        f.log = Log(f.merged)
    f.run_until_complete()
    # the merge starts once both sources have a first item (every stream input must be fresh);
    # after that items pass in the order they arrive
    assert f.log.get_data() == ([(1.0, "a0"), (1.0, "b0"), (1.7, "b1"), (2.0, "a1"), (2.4, "b2"),
                                 (3.0, "a2"), (3.1, "b3")],)


def test_stalls_seen_by_an_instrument_are_the_evaluations_own() -> None:
    Merge = _merge_node()
    stalled: list[str] = []

    class Stalls(FlowInstrument):
        def on_node_stalled(self, flow, node, stalled_input) -> None:  # type: ignore[no-untyped-def]
            stalled.append(node._draft_node.__class__.__name__)

    @node(stream_in=["items"])
    async def Count(items: Stream[str]) -> int:
        return len([item async for item in items])

    f: FlowHDL = vflow()
    with f:
        f.a = Ticks(3, 1.0, "a")
        f.b = Ticks(2, 0.5, "b")
        f.merged = Merge(f.a, f.b)
        f.count = Count(f.merged)
    with Stalls():
        f.run_until_complete()
    assert f.count.get_data() == (5,)
    assert "Count" in stalled and "Merge" not in stalled  # Merge's helpers wait, not its evaluation


def test_a_stream_input_fed_by_a_skipped_value_skips_or_ends_when_optional() -> None:
    from flowno_core import SkipGeneration, Skipped

    @node
    async def Nothing() -> int:
        raise SkipGeneration("nothing today")

    @node(stream_in=["values"])
    async def Total(values: Stream[int]) -> int:
        return sum([value async for value in values])

    @node(stream_in=["values"], optional=["values"])
    async def TotalOrZero(values: Stream[int] = None) -> int:  # type: ignore[assignment]
        return sum([value async for value in values])

    f = vflow()
    with f:
        f.nothing = Nothing()
        f.total = Total(f.nothing)
        f.total_or_zero = TotalOrZero(f.nothing)
    report = f.run_until_complete()
    assert isinstance(f.total.get_data(), Skipped)
    assert f.total_or_zero.get_data() == (0,)
    statuses = {(repr(record.node), str(record.status)) for record in report.evaluations}
    assert any("Total#" in name and "skipped" in status for name, status in statuses), statuses
