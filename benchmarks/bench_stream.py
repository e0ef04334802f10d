"""Streaming benchmarks: producer -> streaming map -> streaming sink of K items.

Implementations (cost per item in microseconds, lower is better):

* ``flowno_core`` / ``flowno`` (same code, flowno's API): an async-generator node ``Produce(k)``
  yielding 0..K-1, ``@node(stream_in=["xs"]) Double`` re-yielding ``2 * x`` for each chunk, and
  ``@node(stream_in=["xs"]) Sink`` summing its stream; timed region: ``f.run_until_complete()``;
  the sink's final value is checked.
* ``aiostream``: ``stream.iterate(produce(K)) | pipe.map(double)`` (a plain function, which is
  aiostream's fast path) drained by an ``async for`` sink inside ``asyncio.run``.
* ``asyncio_queue``: three tasks joined by two ``asyncio.Queue(maxsize=1)`` (bounded like a
  back-pressured stream) with an end sentinel.

``memory`` rows: peak memory allocated while the pipeline runs (tracemalloc peak minus the traced
size just before the run, KiB; a separate, untimed run) at K = 1,000 and 100,000: a constant-memory
implementation shows the same figure at both sizes.

Sizes: K = 1,000, 20,000, 100,000 for flowno_core, aiostream and asyncio_queue; flowno only at
K = 1,000 (it is quadratic, seconds per run). Targets (issue 5): per-item cost <= aiostream's at
K = 20,000; >= 100x faster than flowno at K = 1,000; flat per-item cost from 1,000 to 100,000
(growth <= 1.5x); constant memory (peak at 100,000 <= 1.5x the peak at 1,000). Issue 11 (labelled
``#11``) keeps the per-item target and adds: memory peak <= 2x aiostream's peak at K = 1,000 and
at K = 100,000.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from typing import Any

import _common as c

BENCH = "stream"
IMPLS = ["flowno_core", "flowno", "aiostream", "asyncio_queue"]
SIZE_LABEL = "K"


def plan(quick: bool) -> list[c.Job]:
    sizes = (1_000, 5_000, 20_000) if quick else (1_000, 20_000, 100_000)
    jobs = []
    for size in sizes:
        for impl in IMPLS:
            if impl == "flowno" and size != sizes[0]:
                continue
            reps = 2 if quick else (3 if impl == "flowno" else (7 if size < 100_000 else 5))
            flowno_k = 200 if quick else size
            jobs.append(c.Job("pipeline", flowno_k if impl == "flowno" else size, impl, reps,
                              timeout=300 if quick else 900))
    for size in (sizes[0], sizes[-1]):
        for impl in ("flowno_core", "aiostream", "asyncio_queue"):
            jobs.append(c.Job("memory", size, impl, 1, timeout=300 if quick else 900))
    if quick:  # in quick mode compare flowno at its own (small) K
        for impl in ("flowno_core", "aiostream", "asyncio_queue"):
            jobs.append(c.Job("pipeline", 200, impl, 2, timeout=300))
    return jobs


def probe(impl: str) -> None:
    if impl in ("flowno_core", "flowno"):
        c.stream_package(impl)
    elif impl == "aiostream":
        c.import_or_unavailable("aiostream")


# ------------------------------------------------------------------------------------------------
# flowno_core / flowno
# ------------------------------------------------------------------------------------------------
def _flow_pipeline(pkg: Any) -> Any:
    node, FlowHDL = pkg.node, pkg.FlowHDL

    @node
    async def Produce(k: int):  # type: ignore[no-untyped-def]
        for i in range(k):
            yield i

    @node(stream_in=["xs"])
    async def Double(xs):  # type: ignore[no-untyped-def]
        async for x in xs:
            yield 2 * x

    @node(stream_in=["xs"])
    async def Sink(xs) -> int:  # type: ignore[no-untyped-def]
        total = 0
        async for x in xs:
            total += x
        return total

    def build(k: int) -> Any:
        with FlowHDL() as f:
            f.produce = Produce(k)
            f.double = Double(f.produce)
            f.sink = Sink(f.double)
        return f

    def check(f: Any, k: int) -> None:
        got = f.sink.get_data()
        if got != (k * (k - 1),):
            raise AssertionError(f"sink got {got}, expected {(k * (k - 1),)}")

    return build, check


# ------------------------------------------------------------------------------------------------
# asyncio based
# ------------------------------------------------------------------------------------------------
async def _produce(k: int):  # type: ignore[no-untyped-def]
    for i in range(k):
        yield i


def _double(x: int) -> int:
    return 2 * x


async def _aiostream_run(k: int) -> int:
    from aiostream import pipe, stream

    xs = stream.iterate(_produce(k)) | pipe.map(_double)
    total = 0
    async with xs.stream() as streamer:
        async for x in streamer:
            total += x
    return total


async def _queue_run(k: int) -> int:
    q1: asyncio.Queue = asyncio.Queue(maxsize=1)
    q2: asyncio.Queue = asyncio.Queue(maxsize=1)
    end = object()

    async def producer() -> None:
        async for i in _produce(k):
            await q1.put(i)
        await q1.put(end)

    async def mapper() -> None:
        while (x := await q1.get()) is not end:
            await q2.put(2 * x)
        await q2.put(end)

    async def sink() -> int:
        total = 0
        while (x := await q2.get()) is not end:
            total += x
        return total

    _, _, total = await asyncio.gather(producer(), mapper(), sink())
    return total


def _asyncio_timed(run: Any, k: int) -> float:
    async def root() -> float:
        t0 = time.perf_counter()
        total = await run(k)
        dt = time.perf_counter() - t0
        if total != k * (k - 1):
            raise AssertionError(f"sum {total}, expected {k * (k - 1)}")
        return dt

    return asyncio.run(root())


def _runner(impl: str) -> Any:
    """A function k -> (setup, run, check) for one implementation."""
    if impl in ("flowno_core", "flowno"):
        pkg = c.stream_package(impl)
        build, check = _flow_pipeline(pkg)

        def once(k: int) -> float:
            f = build(k)
            t0 = time.perf_counter()
            f.run_until_complete()
            dt = time.perf_counter() - t0
            check(f, k)
            return dt

        def memory(k: int) -> int:
            f = build(k)
            return _traced(f.run_until_complete, lambda: check(f, k))

        return once, memory
    if impl == "aiostream":
        c.import_or_unavailable("aiostream")
        run: Any = _aiostream_run
    else:
        run = _queue_run

    def once_a(k: int) -> float:
        return _asyncio_timed(run, k)

    def memory_a(k: int) -> int:
        box: dict[str, int] = {}

        def go() -> None:
            box["total"] = asyncio.run(run(k))

        def check_a() -> None:
            if box["total"] != k * (k - 1):
                raise AssertionError("wrong sum")

        return _traced(go, check_a)

    return once_a, memory_a


def _traced(fn: Any, check: Any) -> int:
    """Peak bytes allocated above the starting point while ``fn()`` runs."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check()
    return peak - base


def run_job(job: c.Job) -> c.Result:
    once, memory = _runner(job.impl)
    if job.case == "memory":
        memory(min(job.size, 1000))  # warm-up: imports, caches
        kib = memory(job.size) / 1024
        return c.Result(BENCH, job.case, job.size, job.impl, "ok", "KiB peak", False, kib, kib, [kib])
    times = c.repeat(once, job.size, job.reps, warmup_size=min(job.size, 1000) // 10)
    return c.cost_result(BENCH, job, times, job.size, "us/item")


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    sizes = sorted({r.size for r in results if r.case == "pipeline" and r.impl != "flowno"})
    flowno_sizes = sorted({r.size for r in results if r.case == "pipeline" and r.impl == "flowno"})
    out = []
    if sizes:
        mid = 20_000 if 20_000 in sizes else sizes[-1]
        out.append(c.speedup_check(table, "pipeline", mid, "aiostream", 1.0, f"<= aiostream at K={mid:,}"))
    if flowno_sizes:
        k = flowno_sizes[0]
        out.append(c.speedup_check(table, "pipeline", k, "flowno", 100.0, f">= 100x flowno at K={k:,}"))
    big = [s for s in sizes if s >= 1000]
    if len(big) >= 2:
        out.append(c.growth_check(table, "pipeline", big[0], big[-1], 1.5,
                                  f"flat per-item cost {big[0]:,} -> {big[-1]:,}"))
    mem = sorted({r.size for r in results if r.case == "memory"})
    if len(mem) >= 2:
        chk = c.growth_check(table, "memory", mem[0], mem[-1], 1.5, f"constant memory {mem[0]:,} -> {mem[-1]:,}")
        chk.target = f"peak({mem[-1]:,}) / peak({mem[0]:,}) <= 1.5"
        out.append(chk)
    for k in (mem[0], mem[-1]) if len(mem) >= 2 else mem:  # issue 11: not much above aiostream's peak
        out.append(c.ratio_check(table, "memory", k, "aiostream", 2.0, f"#11 memory peak <= 2x aiostream at K={k:,}",
                                 what="peak"))
    return out


if __name__ == "__main__":
    c.main(__import__(__name__))
