"""flow.run_async(): a flow run from asyncio code (issue 14) does not block the asyncio loop, and
cancelling the awaiting asyncio task cancels the flow, its nodes' finally blocks included."""

from __future__ import annotations

import asyncio
import threading

import pytest

from flowno_core import FlowHDL, TerminateLimitReached, node, sleep, to_thread

pytestmark = pytest.mark.usefixtures("real_clock")  # two real loops side by side


def test_another_asyncio_task_makes_progress_while_the_flow_runs():
    """The flow can only finish if the asyncio loop keeps running: a node waits for an event that
    an asyncio task sets (after 3 turns of its loop) while ``run_async`` is being awaited."""
    from_asyncio_side = threading.Event()

    @node
    async def WaitForAsyncio() -> bool:
        return await to_thread(from_asyncio_side.wait, 30)

    @node
    async def After(seen: bool) -> str:
        return "asyncio ran meanwhile" if seen else "asyncio was blocked"

    with FlowHDL() as f:
        f.wait = WaitForAsyncio()
        f.after = After(f.wait)

    async def main() -> object:
        async def other_work() -> None:
            for _ in range(3):
                await asyncio.sleep(0)
            from_asyncio_side.set()

        other = asyncio.create_task(other_work())
        report = await f.run_async()
        await other
        return report

    report = asyncio.run(main())
    assert f.after.get_data() == ("asyncio ran meanwhile",)
    assert report.outcome == "completed"  # type: ignore[attr-defined]


def test_run_async_takes_the_arguments_of_run_until_complete():
    @node
    async def Count(x: int = 0) -> int:
        return x + 1

    with FlowHDL() as f:
        f.count = Count(f.count)
    with pytest.raises(TerminateLimitReached):
        asyncio.run(f.run_async(stop_at_node_generation={f.count: (4,)}))
    assert f.count.get_data() == (5,)


def test_cancelling_the_awaiting_task_cancels_the_flow_and_runs_finally_blocks():
    cleaned: list[int] = []

    @node
    async def Forever(x: int = 0) -> int:
        try:
            await sleep(0.01)
            return x + 1
        finally:
            cleaned.append(x)

    with FlowHDL() as f:
        f.loop = Forever(f.loop)

    async def main() -> None:
        task = asyncio.create_task(f.run_async())
        while not cleaned:  # the flow has been evaluating for a while
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    finished = f.loop.get_data()[0]
    assert cleaned[:finished] == list(range(finished)) and len(cleaned) == finished + 1  # the cut one too
    assert not f.cancel()  # no run in progress any more
    with pytest.raises(TerminateLimitReached):  # and the flow goes on from where it was cancelled
        f.run_until_complete(stop_at_node_generation={f.loop: (finished + 1,)})
    assert f.loop.get_data() == (finished + 2,)
