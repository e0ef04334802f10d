"""Bounded memory (SPEC §0 D14, §2.3, §3.11): a producer keeps only the chunks some live consumer
has not read; a 100,000-chunk stream runs in constant memory.

Memory is measured without timing anything: the producer's retained-chunk deque, the interpreter's
allocated-block count sampled during the stream, and tracemalloc peaks for two stream lengths.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import Any

from flowno_core import Stream, node, sleep

from .helpers import vflow


def retained(f: Any, name: str = "src") -> int:
    return len(getattr(f, name)._runtime.chunks)


def test_a_100000_chunk_stream_runs_in_constant_memory() -> None:
    count = 100_000
    samples: dict[str, Any] = {"retained": 0, "blocks": []}

    @node
    async def Source():
        for i in range(count):
            yield i

    @node(stream_in=["xs"])
    async def Sum(xs: Stream[int]):
        total = 0
        async for x in xs:
            total += x
            samples["retained"] = max(samples["retained"], retained(f))
            if x % 2000 == 0:
                samples["blocks"].append(sys.getallocatedblocks())
        return total

    @node
    async def Final(total: int):
        return total

    with vflow() as f:
        f.src = Source()
        f.sum = Sum(f.src)
        f.final = Final(f.src)
    f.run_until_complete()
    expected = count * (count - 1) // 2
    assert f.sum.get_data() == (expected,)
    assert f.final.get_data() == (expected,)
    assert samples["retained"] <= 2
    assert retained(f) == 0
    blocks = samples["blocks"][5:]  # after warm-up (chunk 10,000 on)
    # keeping one object per chunk would add about 90,000 blocks over this window
    assert max(blocks) - min(blocks) < 5_000


def test_retained_chunks_stay_bounded_with_a_fast_and_a_slow_reader() -> None:
    count = 5_000
    peak = {"src": 0}

    @node
    async def Source():
        for i in range(count):
            yield i
            peak["src"] = max(peak["src"], retained(f))

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int], every: int):
        total = 0
        async for x in xs:
            total += x
            peak["src"] = max(peak["src"], retained(f))
            if x % every == 0:
                await sleep(0.01)
        return total

    with vflow() as f:
        f.src = Source()
        f.fast = Reader(f.src, 1000)
        f.slow = Reader(f.src, 7)
    f.run_until_complete()
    assert f.fast.get_data() == f.slow.get_data() == (count * (count - 1) // 2,)
    assert 1 <= peak["src"] <= 2  # a chunk is kept while the slow reader has not read it
    assert retained(f) == 0


def _peak_for(count: int) -> int:
    @node
    async def Source():
        for i in range(count):
            yield i

    @node(stream_in=["xs"])
    async def Sum(xs: Stream[int]):
        total = 0
        async for x in xs:
            total += x
        return total

    @node
    async def Final(total: int):
        return total

    with vflow() as f:
        f.src = Source()
        f.sum = Sum(f.src)
        f.final = Final(f.src)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        f.run_until_complete()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f.final.get_data() == (count * (count - 1) // 2,)
    return peak


def test_tracemalloc_peak_does_not_grow_with_the_stream_length() -> None:
    """Ten times more chunks, the same peak (generous fixed margin). Lengths are 1,000 and 10,000:
    under tracemalloc every allocation is traced, which makes 100,000 chunks too slow for the suite
    (the 100,000-chunk run above checks the allocated-block count instead)."""
    small = _peak_for(1_000)
    large = _peak_for(10_000)
    # one retained tuple per chunk would add more than 9,000 * 64 bytes
    assert large - small < 64 * 1024, (small, large)


def test_chunks_are_released_when_a_reader_stops_early() -> None:
    seen: list[int] = []

    @node
    async def Source():
        for i in range(20):
            yield i
            seen.append(retained(f))

    @node(stream_in=["xs"])
    async def FirstThree(xs: Stream[int]):
        got = []
        async for x in xs:
            got.append(x)
            if len(got) == 3:
                return got
        return got

    @node
    async def Final(total: int):
        return total

    with vflow() as f:
        f.src = Source()
        f.first = FirstThree(f.src)
        f.final = Final(f.src)
    f.run_until_complete()
    assert f.first.get_data() == ([0, 1, 2],)
    assert f.final.get_data() == (190,)
    # once the reader returned, nothing is kept for it
    assert seen[3:] == [0] * 17


def test_a_reader_that_never_reads_releases_its_chunks_when_its_evaluation_ends() -> None:
    seen: list[int] = []

    @node
    async def Source():
        for i in range(10):
            await sleep(1)
            yield i
            seen.append(retained(f))

    @node(stream_in=["xs"])
    async def Ignore(xs: Stream[int]):
        await sleep(4.5)
        return "ignored"

    @node
    async def Final(total: int):
        return total

    with vflow() as f:
        f.src = Source()
        f.ignore = Ignore(f.src)
        f.final = Final(f.src)
    f.run_until_complete()
    assert f.final.get_data() == (45,)
    # chunks 0..3 are kept for Ignore (it might still read them) until its evaluation ends at 5.5
    assert seen[:4] == [1, 2, 3, 4]
    assert seen[5:] == [0] * 5


def test_the_producer_keeps_only_the_latest_final_value_and_chunk() -> None:
    """get_data answers for the current lap and the previous final value only (D14)."""

    @node
    async def Tick(previous: Any = None):
        return 0 if previous is None else previous + 1

    @node
    async def Chunks(lap: int):
        for j in range(3):
            yield lap * 10 + j

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs][-1]

    @node
    async def Back(last: int):
        return last // 10

    from flowno_core import TerminateLimitReached

    with vflow() as f:
        f.tick = Tick(f.back)
        f.chunks = Chunks(f.tick)
        f.reader = Reader(f.chunks)
        f.back = Back(f.reader)
    try:
        f.run_until_complete(stop_at_node_generation={f.tick: (50,)})
    except TerminateLimitReached:
        pass
    data = f.chunks._data
    assert f.chunks.generation == (49,)
    assert data.get(0) == (490 + 491 + 492,)
    assert retained(f, "chunks") == 0
    # the record holds a constant number of values, not a history
    assert sum(1 for name in data.__slots__ if getattr(data, name) is not None) <= 4
