"""Node-library benchmarks (issue 14): apply / keep / batch pipelines of flowno_nodes vs aiostream's operators.

Cases (microseconds per source item, lower is better; the items 0..K-1 go through the pipeline):

* ``apply``: ``apply(source, inc)`` (a plain function ``x + 1``); aiostream ``| pipe.map(inc)``.
* ``keep``: ``keep(source, is_even)``; aiostream ``| pipe.filter(is_even)``.
* ``batch``: ``batch(source, size=100)``; aiostream ``| pipe.chunks(100)``.
* ``chain``: apply(inc) -> keep(is_even) -> batch(size=100); aiostream ``map | filter | chunks(100)``.
* ``apply_async8``: ``apply(source, inc_async, concurrency=8)`` where ``inc_async`` is an
  ``async def`` that returns at once (no real waiting); aiostream ``| pipe.map(inc_async,
  task_limit=8)``.

Implementations:

* ``flowno_core``: the flowno_nodes operators, fed by ``from_iterable(range(K))`` and read by a
  ``@node(stream_in=["xs"])`` sink that counts and sums what it receives (a batch counts once and
  adds its sum); timed region: ``f.run_until_complete()``.
* ``aiostream``: ``stream.iterate(produce(K)) | ...`` where ``produce`` is an async generator
  yielding 0..K-1, drained by the same counting and summing ``async for`` inside ``asyncio.run``
  (timed inside the root coroutine). The async generator is aiostream's faster source:
  ``stream.iterate(range(K))`` awaits ``asyncio.sleep(0)`` before every item.

Both sides check (number of items or batches, sum) against the same pipeline computed in plain
Python, so a pipeline that drops, duplicates or mis-batches items shows up as ``error``.

Sizes: K = 1,000, 20,000, 100,000 (``--quick``: 1,000, 5,000). Target (issue 14): per-item cost
<= aiostream's (``core vs aiostream`` >= 1.0x) at K = 20,000 for every case; the table has the
other sizes.

Run alone: ``python benchmarks/bench_library.py [--quick]`` (``python benchmarks/run.py library``
sets everything up).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import _common as c

BENCH = "library"
IMPLS = ["flowno_core", "aiostream"]
SIZE_LABEL = "K"
CASES = {
    "apply": ["apply"],
    "keep": ["keep"],
    "batch": ["batch"],
    "chain": ["apply", "keep", "batch"],
    "apply_async8": ["apply_async8"],
}
BATCH = 100
IN_FLIGHT = 8


def plan(quick: bool) -> list[c.Job]:
    sizes = (1_000, 5_000) if quick else (1_000, 20_000, 100_000)
    return [c.Job(case, size, impl, 2 if quick else (7 if size < 100_000 else 5), timeout=300 if quick else 900)
            for case in CASES for size in sizes for impl in IMPLS]


def probe(impl: str) -> None:
    if impl == "flowno_core":
        _library()
    else:
        c.import_or_unavailable("aiostream")


def _library() -> tuple[Any, Any]:
    core = c.stream_package("flowno_core")
    try:
        import flowno_nodes
    except ImportError:
        raise c.Unavailable("flowno_core: node library (flowno_nodes) not available yet") from None
    return core, flowno_nodes


# ------------------------------------------------------------------------------------------------
# what the pipelines compute
# ------------------------------------------------------------------------------------------------
def _inc(x: int) -> int:
    return x + 1


async def _inc_async(x: int) -> int:
    return x + 1


def _is_even(x: int) -> bool:
    return x % 2 == 0


async def _tally(items: Any, batched: bool) -> tuple[int, int]:
    """(number of items, their sum); a batch counts once and adds the sum of its items."""
    n = total = 0
    async for x in items:
        n += 1
        total += sum(x) if batched else x
    return n, total


def _expected(case: str, k: int) -> tuple[int, int]:
    items = list(range(k))
    for stage in CASES[case]:
        if stage.startswith("apply"):
            items = [_inc(x) for x in items]
        elif stage == "keep":
            items = [x for x in items if _is_even(x)]
    if "batch" in CASES[case]:
        return -(-len(items) // BATCH), sum(items)
    return len(items), sum(items)


def _check(case: str, k: int, got: Any) -> None:
    want = _expected(case, k)
    if got != want:
        raise AssertionError(f"{case} at K={k}: got (count, sum) {got}, expected {want}")


# ------------------------------------------------------------------------------------------------
# flowno_core + flowno_nodes
# ------------------------------------------------------------------------------------------------
def _core_stage(nodes: Any, stage: str, upstream: Any) -> Any:
    if stage == "apply":
        return nodes.apply(upstream, _inc)
    if stage == "keep":
        return nodes.keep(upstream, _is_even)
    if stage == "batch":
        return nodes.batch(upstream, size=BATCH)
    return nodes.apply(upstream, _inc_async, concurrency=IN_FLIGHT)


def _core_runner(case: str) -> Any:
    core, nodes = _library()
    batched = "batch" in CASES[case]

    @core.node(stream_in=["xs"])
    async def Sink(xs):  # type: ignore[no-untyped-def]
        return await _tally(xs, batched)

    def build(k: int) -> Any:
        with core.FlowHDL() as f:
            f.source = nodes.from_iterable(range(k))
            last = f.source
            for i, stage in enumerate(CASES[case]):
                setattr(f, f"stage{i}", _core_stage(nodes, stage, last))
                last = getattr(f, f"stage{i}")
            f.sink = Sink(last)
        return f

    def once(k: int) -> float:
        f = build(k)
        t0 = time.perf_counter()
        f.run_until_complete()
        dt = time.perf_counter() - t0
        _check(case, k, f.sink.get_data()[0])
        return dt

    return once


# ------------------------------------------------------------------------------------------------
# aiostream
# ------------------------------------------------------------------------------------------------
async def _produce(k: int):  # type: ignore[no-untyped-def]
    for i in range(k):
        yield i


def _aiostream_stage(pipe: Any, stage: str) -> Any:
    if stage == "apply":
        return pipe.map(_inc)
    if stage == "keep":
        return pipe.filter(_is_even)
    if stage == "batch":
        return pipe.chunks(BATCH)
    return pipe.map(_inc_async, task_limit=IN_FLIGHT)


def _aiostream_runner(case: str) -> Any:
    c.import_or_unavailable("aiostream")
    from aiostream import pipe, stream

    batched = "batch" in CASES[case]

    async def root(k: int) -> float:
        t0 = time.perf_counter()
        xs = stream.iterate(_produce(k))
        for stage in CASES[case]:
            xs = xs | _aiostream_stage(pipe, stage)
        async with xs.stream() as streamer:
            got = await _tally(streamer, batched)
        dt = time.perf_counter() - t0
        _check(case, k, got)
        return dt

    return lambda k: asyncio.run(root(k))


def run_job(job: c.Job) -> c.Result:
    once = _core_runner(job.case) if job.impl == "flowno_core" else _aiostream_runner(job.case)
    times = c.repeat(once, job.size, job.reps, warmup_size=min(job.size, 1000) // 10)
    return c.cost_result(BENCH, job, times, job.size, "us/item")


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    sizes = sorted({r.size for r in results})
    if not sizes:
        return []
    mid = 20_000 if 20_000 in sizes else sizes[-1]
    return [c.speedup_check(table, case, mid, "aiostream", 1.0, f"#14 {case}: <= aiostream at K={mid:,}")
            for case in CASES if any(r.case == case for r in results)]


if __name__ == "__main__":
    c.main(__import__(__name__))
